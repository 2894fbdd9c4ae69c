import Foundation
import PrismStorage

/// A seeded corpus with a Zipfian vocabulary and the queries run against it, so every engine in a
/// benchmark sees the same documents and questions.
struct SyntheticCorpus {
    struct Doc {
        let id: String
        let body: String
    }

    let documents: [Doc]
    let queries: [String]

    init(documents count: Int, queries queryCount: Int, vocabulary: Int = 50_000, seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        let words = (0..<vocabulary).map { SyntheticCorpus.word($0, &rng) }
        // Zipf(s = 1): cumulative weights 1/r, sampled by binary search.
        var cumulative: [Double] = []
        cumulative.reserveCapacity(vocabulary)
        var sum = 0.0
        for r in 1...vocabulary {
            sum += 1 / Double(r)
            cumulative.append(sum)
        }
        func sample(_ rng: inout SplitMix64) -> Int {
            let x = Double(rng.next() >> 11) / Double(1 << 53) * sum
            var lo = 0, hi = cumulative.count - 1
            while lo < hi {
                let mid = (lo + hi) / 2
                if cumulative[mid] < x { lo = mid + 1 } else { hi = mid }
            }
            return lo
        }
        var docs: [Doc] = []
        docs.reserveCapacity(count)
        var phrases: [String] = []
        for i in 0..<count {
            let length = 20 + Int(rng.next() % 180)
            var tokens: [String] = []
            tokens.reserveCapacity(length)
            for _ in 0..<length { tokens.append(words[sample(&rng)]) }
            if i % max(1, count / 200) == 0, tokens.count > 3 {
                let start = Int(rng.next() % UInt64(tokens.count - 2))
                phrases.append("\"\(tokens[start]) \(tokens[start + 1])\"")
            }
            docs.append(Doc(id: "d\(i)", body: tokens.joined(separator: " ")))
        }
        // Query mix: one term, two terms (OR), two required terms (AND), phrases; terms from the
        // head, middle and tail of the vocabulary.
        var queries: [String] = []
        func term(_ rng: inout SplitMix64) -> String {
            switch rng.next() % 3 {
            case 0: return words[Int(rng.next() % 100)]
            case 1: return words[100 + Int(rng.next() % 2000)]
            default: return words[Int(rng.next() % UInt64(vocabulary))]
            }
        }
        for q in 0..<queryCount {
            switch q % 4 {
            case 0: queries.append(term(&rng))
            case 1: queries.append("\(term(&rng)) \(term(&rng))")
            case 2: queries.append("+\(term(&rng)) +\(term(&rng))")
            default: queries.append(phrases.isEmpty ? term(&rng) : phrases[Int(rng.next() % UInt64(phrases.count))])
            }
        }
        documents = docs
        self.queries = queries
    }

    /// Loads a corpus written as JSON lines `{"id", "body"}` and its queries (one per line).
    init(corpusFile: String, queryFile: String) throws {
        let decoder = JSONDecoder()
        var docs: [Doc] = []
        for line in try String(contentsOfFile: corpusFile, encoding: .utf8).split(separator: "\n") where !line.isEmpty {
            let row = try decoder.decode([String: String].self, from: Data(line.utf8))
            docs.append(Doc(id: row["id"] ?? "d\(docs.count)", body: row["body"] ?? ""))
        }
        documents = docs
        queries = try String(contentsOfFile: queryFile, encoding: .utf8).split(separator: "\n").map(String.init).filter { !$0.isEmpty }
    }

    /// A pronounceable pseudo-word, unique per rank.
    private static func word(_ rank: Int, _ rng: inout SplitMix64) -> String {
        let consonants = Array("bcdfghjklmnprstvwz"), vowels = Array("aeiou")
        var s = ""
        let syllables = 1 + Int(rng.next() % 3)
        for _ in 0..<syllables {
            s.append(consonants[Int(rng.next() % UInt64(consonants.count))])
            s.append(vowels[Int(rng.next() % UInt64(vowels.count))])
        }
        return s + String(rank, radix: 36)
    }
}
