// Sessions where K's encoding ends in 0x00, so gospake2 (wormhole-william)
// derives another key. Made with python-spake2 0.9 by spying on K; the
// entropy is 64 equal bytes (side A: `a`, side B: `b`), so byte order does
// not matter. `n` is K's length without its trailing zero bytes.
export const GO_CODE = "4-purple-sausages";
export const GO_APPID = "lothar.com/wormhole/text-or-file-xfer";

export interface GoCase { a: number; b: number; n: number; msgA: string; msgB: string; k: string; key: string; goKey: string }

export const GO_CASES: GoCase[] = [
  {
    a: 0x07, b: 0xb7, n: 31,
    msgA: "53960a3cc2e2a08d8b4d028fc888a92881032425884c1078a033a06f349acfa8fd",
    msgB: "53754200f967f1c3d909edfaae6e65310658d5b11de90fe22e6134d18f6f1b35f0",
    k: "b2daf0236a78dd95c7bf99fd4360e924ebb73ba937306eef57a619f89a715200",
    key: "9b689f5a9d30cd1d3d7c5ec8a78ec0741fd513ebf084d64eb560338bb3cae34c",
    goKey: "9bdcc2b434f9f0cff762a8fca04010d3b8cbfd2d8cc840e2ff022e0c471f61a3",
  },
  {
    a: 0x09, b: 0xbe, n: 31,
    msgA: "53a8b2a93ce9efab878b13a8085cb9947dd5b0942f95957206f872882aa4428ab0",
    msgB: "5394896e3dae6848df18241af3882714388fe422cd2f7a75d8b2c98c5109c82ee0",
    k: "0b0fc2c2568a70978d83b1f5f1c025a3a05764121a9fff7bac19e77dbe619700",
    key: "eea94c1cb95612b20440bba41aca328ab02acf1625c9fd299632631301e5b25e",
    goKey: "f88020020455facc7a9c2be78cb2678062c9ad4e47879517cb89033d838513eb",
  },
];

/** The 64 entropy bytes of one side: every byte `b`. */
export function entropyOf(b: number): Uint8Array {
  return new Uint8Array(64).fill(b);
}
