/**
 * English words that carry no topic in a developer's question ("how do I …",
 * "what is the …"). Kept compact on purpose: BM25's IDF already discounts
 * common words, this list only removes the ones that would otherwise dominate
 * an OR query by sheer frequency. Contraction fragments (`don`, `t`, `s`) are
 * included because the tokenizer splits `don't` and `user's` at the apostrophe.
 */
export const STOP_WORDS: ReadonlySet<string> = new Set([
  "a", "about", "after", "all", "also", "am", "an", "and", "any", "are", "as", "at",
  "be", "been", "before", "being", "but", "by",
  "can", "could", "d", "did", "didn", "do", "does", "doesn", "doing", "don",
  "each", "else", "for", "from",
  "had", "has", "have", "having", "here", "how",
  "i", "if", "in", "into", "is", "isn", "it", "its", "just",
  "ll", "m", "me", "might", "more", "most", "must", "my",
  "need", "needs", "now", "of", "on", "only", "or", "our", "out",
  "please", "re", "s", "should", "shouldn", "so", "some", "such",
  "t", "than", "that", "the", "their", "them", "then", "there", "these", "they", "this", "those", "to",
  "up", "us", "ve", "very", "via",
  "want", "wants", "was", "way", "we", "were", "what", "when", "where", "which", "while", "who", "why",
  "will", "with", "would", "you", "your",
]);
