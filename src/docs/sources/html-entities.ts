/**
 * HTML character references in text, decoded: `HTMLRewriter` hands text
 * over as written in the source, `&amp;` and all. Numeric references and
 * the named ones documentation sites use; an unknown name is left as is.
 */

const NAMED: Record<string, string> = {
  amp: "&", lt: "<", gt: ">", quot: '"', apos: "'", nbsp: " ", ensp: " ", emsp: " ", thinsp: " ",
  ndash: "–", mdash: "—", hellip: "…", laquo: "«", raquo: "»", lsquo: "‘", rsquo: "’", ldquo: "“", rdquo: "”",
  bull: "•", middot: "·", copy: "©", reg: "®", trade: "™", deg: "°", times: "×", divide: "÷", plusmn: "±",
  larr: "←", rarr: "→", uarr: "↑", darr: "↓", harr: "↔", rArr: "⇒", lArr: "⇐", para: "¶", sect: "§",
  check: "✓", cross: "✗", zwj: "\u200d", zwnj: "\u200c", shy: "\u00ad", euro: "€", pound: "£", yen: "¥", cent: "¢",
  le: "≤", ge: "≥", ne: "≠", asymp: "≈", infin: "∞", minus: "−", lowast: "∗", prime: "′", Prime: "″",
  grave: "`", acute: "´", circ: "ˆ", tilde: "˜", lbrace: "{", rbrace: "}", lsqb: "[", rsqb: "]", verbar: "|", vert: "|",
  colon: ":", comma: ",", period: ".", excl: "!", quest: "?", num: "#", dollar: "$", percnt: "%", ast: "*", sol: "/", bsol: "\\",
  Tab: "\t", NewLine: "\n",
};

/** Decodes `&name;`, `&#123;` and `&#x1F600;` references. */
export function decodeEntities(text: string): string {
  if (!text.includes("&")) return text;
  return text.replace(/&(#x[0-9a-f]{1,6}|#\d{1,7}|[A-Za-z][A-Za-z0-9]{1,31});/gi, (whole, ref: string) => {
    if (ref[0] === "#") {
      const code = ref[1] === "x" || ref[1] === "X" ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
      // Surrogates and values beyond Unicode are not characters: U+FFFD, as browsers do.
      return code > 0 && code <= 0x10ffff && !(code >= 0xd800 && code <= 0xdfff) ? String.fromCodePoint(code) : "\ufffd";
    }
    return NAMED[ref] ?? whole;
  });
}
