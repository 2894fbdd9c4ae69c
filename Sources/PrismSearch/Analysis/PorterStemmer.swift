/// The Porter (1980) stemming algorithm for English, as published by Martin Porter. Works on
/// lowercase ASCII words; anything else (and words of one or two letters) is returned unchanged.
enum PorterStemmer {
    static func stem(_ word: String) -> String {
        var w = Array(word.utf8)
        guard w.count > 2, w.allSatisfy({ $0 >= 0x61 && $0 <= 0x7A }) else { return word }
        step1a(&w)
        step1b(&w)
        step1c(&w)
        step2(&w)
        step3(&w)
        step4(&w)
        step5(&w)
        return String(decoding: w, as: UTF8.self)
    }

    private static func isConsonant(_ w: [UInt8], _ i: Int) -> Bool {
        switch w[i] {
        case UInt8(ascii: "a"), UInt8(ascii: "e"), UInt8(ascii: "i"), UInt8(ascii: "o"), UInt8(ascii: "u"): return false
        case UInt8(ascii: "y"): return i == 0 ? true : !isConsonant(w, i - 1)
        default: return true
        }
    }

    /// Number of vowel-consonant sequences in `w[0..<end]`.
    private static func measure(_ w: [UInt8], _ end: Int) -> Int {
        var n = 0
        var i = 0
        while i < end && isConsonant(w, i) { i += 1 }
        while i < end {
            while i < end && !isConsonant(w, i) { i += 1 }
            guard i < end else { break }
            n += 1
            while i < end && isConsonant(w, i) { i += 1 }
        }
        return n
    }

    private static func hasVowel(_ w: [UInt8], _ end: Int) -> Bool {
        (0..<end).contains { !isConsonant(w, $0) }
    }

    private static func endsDoubleConsonant(_ w: [UInt8], _ end: Int) -> Bool {
        end >= 2 && w[end - 1] == w[end - 2] && isConsonant(w, end - 1)
    }

    /// consonant-vowel-consonant ending, the last not w, x or y.
    private static func endsCVC(_ w: [UInt8], _ end: Int) -> Bool {
        guard end >= 3, isConsonant(w, end - 3), !isConsonant(w, end - 2), isConsonant(w, end - 1) else { return false }
        let c = w[end - 1]
        return c != UInt8(ascii: "w") && c != UInt8(ascii: "x") && c != UInt8(ascii: "y")
    }

    private static func ends(_ w: [UInt8], _ suffix: [UInt8]) -> Bool {
        w.count >= suffix.count && Array(w[(w.count - suffix.count)...]) == suffix
    }

    private static func replace(_ w: inout [UInt8], _ suffixLength: Int, _ replacement: [UInt8]) {
        w.removeLast(suffixLength)
        w += replacement
    }

    private static func step1a(_ w: inout [UInt8]) {
        if ends(w, Array("sses".utf8)) { w.removeLast(2) }
        else if ends(w, Array("ies".utf8)) { w.removeLast(2) }
        else if ends(w, Array("ss".utf8)) { return }
        else if ends(w, Array("s".utf8)) { w.removeLast() }
    }

    private static func step1b(_ w: inout [UInt8]) {
        if ends(w, Array("eed".utf8)) {
            if measure(w, w.count - 3) > 0 { w.removeLast() }
            return
        }
        var removed = false
        for suffix in ["ed", "ing"] {
            let s = Array(suffix.utf8)
            if ends(w, s) && hasVowel(w, w.count - s.count) {
                w.removeLast(s.count)
                removed = true
                break
            }
        }
        guard removed else { return }
        if ends(w, Array("at".utf8)) || ends(w, Array("bl".utf8)) || ends(w, Array("iz".utf8)) {
            w.append(UInt8(ascii: "e"))
        } else if endsDoubleConsonant(w, w.count), let last = w.last,
                  last != UInt8(ascii: "l"), last != UInt8(ascii: "s"), last != UInt8(ascii: "z") {
            w.removeLast()
        } else if measure(w, w.count) == 1 && endsCVC(w, w.count) {
            w.append(UInt8(ascii: "e"))
        }
    }

    private static func step1c(_ w: inout [UInt8]) {
        if w.last == UInt8(ascii: "y") && hasVowel(w, w.count - 1) { w[w.count - 1] = UInt8(ascii: "i") }
    }

    /// Applies the longest matching rule of a step if the remaining stem's measure exceeds `minMeasure`.
    private static func applyRules(_ w: inout [UInt8], _ rules: [([UInt8], [UInt8])], minMeasure: Int) {
        for (suffix, replacement) in rules where ends(w, suffix) {
            if measure(w, w.count - suffix.count) > minMeasure { replace(&w, suffix.count, replacement) }
            return
        }
    }

    private static func rules(_ pairs: [(String, String)]) -> [([UInt8], [UInt8])] {
        pairs.map { (Array($0.0.utf8), Array($0.1.utf8)) }.sorted { $0.0.count > $1.0.count }
    }

    private static let step2Rules = rules([
        ("ational", "ate"), ("tional", "tion"), ("enci", "ence"), ("anci", "ance"), ("izer", "ize"),
        ("abli", "able"), ("alli", "al"), ("entli", "ent"), ("eli", "e"), ("ousli", "ous"),
        ("ization", "ize"), ("ation", "ate"), ("ator", "ate"), ("alism", "al"), ("iveness", "ive"),
        ("fulness", "ful"), ("ousness", "ous"), ("aliti", "al"), ("iviti", "ive"), ("biliti", "ble"),
    ])

    private static let step3Rules = rules([
        ("icate", "ic"), ("ative", ""), ("alize", "al"), ("iciti", "ic"), ("ical", "ic"), ("ful", ""), ("ness", ""),
    ])

    private static let step4Suffixes: [[UInt8]] = [
        "al", "ance", "ence", "er", "ic", "able", "ible", "ant", "ement", "ment", "ent", "ion", "ou",
        "ism", "ate", "iti", "ous", "ive", "ize",
    ].map { Array($0.utf8) }.sorted { $0.count > $1.count }

    private static func step2(_ w: inout [UInt8]) { applyRules(&w, step2Rules, minMeasure: 0) }
    private static func step3(_ w: inout [UInt8]) { applyRules(&w, step3Rules, minMeasure: 0) }

    private static func step4(_ w: inout [UInt8]) {
        for suffix in step4Suffixes where ends(w, suffix) {
            let stemEnd = w.count - suffix.count
            if measure(w, stemEnd) > 1 {
                if suffix == Array("ion".utf8) {
                    guard stemEnd > 0, w[stemEnd - 1] == UInt8(ascii: "s") || w[stemEnd - 1] == UInt8(ascii: "t") else { return }
                }
                w.removeLast(suffix.count)
            }
            return
        }
    }

    private static func step5(_ w: inout [UInt8]) {
        if w.last == UInt8(ascii: "e") {
            let m = measure(w, w.count - 1)
            if m > 1 || (m == 1 && !endsCVC(w, w.count - 1)) { w.removeLast() }
        }
        if w.last == UInt8(ascii: "l") && endsDoubleConsonant(w, w.count) && measure(w, w.count) > 1 {
            w.removeLast()
        }
    }
}
