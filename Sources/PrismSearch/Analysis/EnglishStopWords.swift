/// The English stop words of Lucene's `EnglishAnalyzer` (also Tantivy's `StopWordFilter` list for
/// English), removed by the `en` analyzer.
enum EnglishStopWords {
    static let words: Set<String> = [
        "a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "if", "in", "into", "is", "it",
        "no", "not", "of", "on", "or", "such", "that", "the", "their", "then", "there", "these",
        "they", "this", "to", "was", "will", "with",
    ]

    static func contains(_ word: String) -> Bool { words.contains(word) }
}
