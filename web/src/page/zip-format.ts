/** Record signatures of the zip format (APPNOTE.TXT), shared by zip-records.ts (writing) and zip-reader.ts. */
export const LOCAL_SIG = 0x04034b50;
export const DESCRIPTOR_SIG = 0x08074b50;
export const CENTRAL_SIG = 0x02014b50;
export const ZIP64_END_SIG = 0x06064b50;
export const ZIP64_LOCATOR_SIG = 0x07064b50;
export const END_SIG = 0x06054b50;
