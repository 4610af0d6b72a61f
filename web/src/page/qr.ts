/**
 * The link as a QR code, drawn by `qrcode-generator` (MIT, no dependencies)
 * into a GIF data: URL, which the CSP's `img-src data:` allows.
 */
import qrcode from "qrcode-generator";

export function qrDataUrl(text: string): string {
  const qr = qrcode(0, "M");
  qr.addData(text);
  qr.make();
  return qr.createDataURL(4, 4);
}
