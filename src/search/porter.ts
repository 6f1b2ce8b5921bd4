/**
 * FTS5's `porter` stemmer, for words of ASCII letters and digits: the same
 * steps, rules and conditions as SQLite's own (ext/fts5/fts5_tokenize.c,
 * itself Martin Porter's 1980 algorithm), so a word stemmed here is the
 * term FTS5 indexed for it. Asking FTS5 costs a write to a scratch table per
 * batch of words; this costs well under a microsecond, and most words of a
 * documentation set are plain ASCII. test/search/porter.test.ts holds it to
 * FTS5's answers on every word of the test corpora.
 */

/** Longer words are indexed as they are, unstemmed (FTS5_PORTER_MAX_TOKEN). */
const MAX_STEMMED = 64;

const isVowel = (c: string | undefined, yIsVowel: boolean): boolean =>
  c === "a" || c === "e" || c === "i" || c === "o" || c === "u" || (yIsVowel && c === "y");

/**
 * Skips one vowel-consonant sequence ([C]VC…) of word[from … to): the index
 * after its first consonant following a vowel, or 0 when there is none.
 */
function afterVowelConsonant(word: string, from: number, to: number, previousConsonant: boolean): number {
  let consonant = previousConsonant;
  let i = from;
  for (; i < to; i++) if (!(consonant = !isVowel(word[i], consonant))) break;
  for (i++; i < to; i++) if ((consonant = !isVowel(word[i], consonant))) return i + 1;
  return 0;
}

/** Porter's m (the number of VC sequences) of word[0 … length): m > 0, m > 1, m = 1. */
const mAbove0 = (word: string, length: number): boolean => afterVowelConsonant(word, 0, length, false) !== 0;
function mAbove1(word: string, length: number): boolean {
  const n = afterVowelConsonant(word, 0, length, false);
  return n !== 0 && afterVowelConsonant(word, n, length, true) !== 0;
}
function mIs1(word: string, length: number): boolean {
  const n = afterVowelConsonant(word, 0, length, false);
  return n !== 0 && afterVowelConsonant(word, n, length, true) === 0;
}
/** *v*: the stem holds a vowel. */
function hasVowel(word: string, length: number): boolean {
  for (let i = 0; i < length; i++) if (isVowel(word[i], i > 0)) return true;
  return false;
}
/** *o: the stem ends consonant-vowel-consonant, the last not w, x or y. */
function endsCvc(word: string, length: number): boolean {
  const last = word[length - 1];
  if (last === "w" || last === "x" || last === "y") return false;
  let mask = 0;
  let consonant = false;
  for (let i = 0; i < length; i++) {
    consonant = !isVowel(word[i], consonant);
    mask = (mask << 1) + (consonant ? 1 : 0);
  }
  return (mask & 7) === 5;
}
const mAbove1EndsST = (word: string, length: number): boolean =>
  (word[length - 1] === "s" || word[length - 1] === "t") && mAbove1(word, length);

type Condition = (word: string, length: number) => boolean;
/** A suffix, what replaces it, and the condition its stem must meet. */
type Rule = readonly [suffix: string, replacement: string, condition: Condition | null];

/**
 * Applies the first rule whose suffix the word ends with (the word being
 * longer than the suffix): its replacement if the stem meets its condition,
 * nothing otherwise. No later rule is tried once one matched.
 * Returns the word, and the index of the rule applied (-1 for none).
 */
function applyFirst(word: string, step: Step): [string, number] {
  // Only the rules whose suffix has the word's next-to-last letter can match
  // (FTS5 switches on that letter too): a step costs a comparison or two.
  const rules = step.get(word[word.length - 2]!);
  if (rules === undefined) return [word, -1];
  for (const [suffix, replacement, condition, index] of rules) {
    if (word.length <= suffix.length || !word.endsWith(suffix)) continue;
    const stem = word.length - suffix.length;
    if (condition !== null && !condition(word, stem)) return [word, -1];
    return [word.slice(0, stem) + replacement, index];
  }
  return [word, -1];
}

/** A step's rules by their suffix's next-to-last letter, in order, each with its index in the step. */
type Step = ReadonlyMap<string, readonly (readonly [string, string, Condition | null, number])[]>;

function step(rules: readonly Rule[]): Step {
  const byLetter = new Map<string, (readonly [string, string, Condition | null, number])[]>();
  rules.forEach(([suffix, replacement, condition], index) => {
    const letter = suffix[suffix.length - 2]!;
    byLetter.set(letter, [...(byLetter.get(letter) ?? []), [suffix, replacement, condition, index]]);
  });
  return byLetter;
}

const STEP_1B = step([
  ["eed", "ee", mAbove0],
  ["ed", "", hasVowel],
  ["ing", "", hasVowel],
]);
const STEP_1B2 = step([
  ["at", "ate", null],
  ["bl", "ble", null],
  ["iz", "ize", null],
]);
const STEP_2 = step([
  ["ational", "ate", mAbove0],
  ["tional", "tion", mAbove0],
  ["enci", "ence", mAbove0],
  ["anci", "ance", mAbove0],
  ["izer", "ize", mAbove0],
  ["logi", "log", mAbove0],
  ["bli", "ble", mAbove0],
  ["alli", "al", mAbove0],
  ["entli", "ent", mAbove0],
  ["eli", "e", mAbove0],
  ["ousli", "ous", mAbove0],
  ["ization", "ize", mAbove0],
  ["ation", "ate", mAbove0],
  ["ator", "ate", mAbove0],
  ["alism", "al", mAbove0],
  ["iveness", "ive", mAbove0],
  ["fulness", "ful", mAbove0],
  ["ousness", "ous", mAbove0],
  ["aliti", "al", mAbove0],
  ["iviti", "ive", mAbove0],
  ["biliti", "ble", mAbove0],
]);
const STEP_3 = step([
  ["ical", "ic", mAbove0],
  ["ness", "", mAbove0],
  ["icate", "ic", mAbove0],
  ["iciti", "ic", mAbove0],
  ["ful", "", mAbove0],
  ["ative", "", mAbove0],
  ["alize", "al", mAbove0],
]);
const STEP_4 = step([
  ["al", "", mAbove1],
  ["ance", "", mAbove1],
  ["ence", "", mAbove1],
  ["er", "", mAbove1],
  ["ic", "", mAbove1],
  ["able", "", mAbove1],
  ["ible", "", mAbove1],
  ["ant", "", mAbove1],
  ["ement", "", mAbove1],
  ["ment", "", mAbove1],
  ["ent", "", mAbove1],
  ["ion", "", mAbove1EndsST],
  ["ou", "", mAbove1],
  ["ism", "", mAbove1],
  ["ate", "", mAbove1],
  ["iti", "", mAbove1],
  ["ous", "", mAbove1],
  ["ive", "", mAbove1],
  ["ize", "", mAbove1],
]);

/**
 * The term FTS5 (`porter unicode61`) indexes for an ASCII word of letters
 * and digits: lowercased, then stemmed (`Renewing` → `renew`).
 */
export function porterStem(asciiWord: string): string {
  let word = asciiWord.toLowerCase();
  if (word.length < 3 || word.length > MAX_STEMMED) return word;

  // Step 1a: plurals.
  if (word.endsWith("s")) {
    if (word[word.length - 2] === "e" && ((word.length > 4 && word.endsWith("sses")) || (word.length > 3 && word.endsWith("ies")))) {
      word = word.slice(0, -2);
    } else if (word[word.length - 2] !== "s") {
      word = word.slice(0, -1);
    }
  }
  // Step 1b: -ed and -ing, and what their removal leaves.
  let rule: number;
  [word, rule] = applyFirst(word, STEP_1B);
  // Only a removed -ed or -ing (not -eed → -ee) leaves a stem to tidy.
  if (rule > 0) {
    [word, rule] = applyFirst(word, STEP_1B2);
    if (rule < 0) {
      const last = word[word.length - 1];
      if (!isVowel(last, false) && last !== "l" && last !== "s" && last !== "z" && last === word[word.length - 2]) {
        word = word.slice(0, -1);
      } else if (mIs1(word, word.length) && endsCvc(word, word.length)) {
        word += "e";
      }
    }
  }
  // Step 1c: y after a vowel-bearing stem.
  if (word.endsWith("y") && hasVowel(word, word.length - 1)) word = word.slice(0, -1) + "i";
  // Steps 2 to 4: derivational suffixes.
  [word] = applyFirst(word, STEP_2);
  [word] = applyFirst(word, STEP_3);
  [word] = applyFirst(word, STEP_4);
  // Step 5a: a final e.
  if (word.endsWith("e")) {
    const stem = word.length - 1;
    if (mAbove1(word, stem) || (mIs1(word, stem) && !endsCvc(word, stem))) word = word.slice(0, stem);
  }
  // Step 5b: a final double l.
  if (word.length > 1 && word.endsWith("ll") && mAbove1(word, word.length - 1)) word = word.slice(0, -1);
  return word;
}
