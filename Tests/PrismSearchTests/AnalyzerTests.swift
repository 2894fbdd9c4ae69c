@testable import PrismSearch
import Testing

@Suite("Analysis")
struct AnalyzerTests {
    @Test func defaultSplitsOnNonAlphanumericsAndLowercases() {
        let tokens = Analyzer.default.tokens("Hello, World! It's 2024: naïve café—ÜBER_cool x2")
        #expect(tokens.map(\.text) == ["hello", "world", "it", "s", "2024", "naïve", "café", "über", "cool", "x2"])
        #expect(tokens.map(\.position) == Array(0..<10))
    }

    @Test func defaultDropsTokensOf40BytesOrMoreButKeepsTheirPosition() {
        let long = String(repeating: "a", count: 40)
        let ok = String(repeating: "b", count: 39)
        let tokens = Analyzer.default.tokens("x \(long) \(ok) y")
        #expect(tokens.map(\.text) == ["x", ok, "y"])
        #expect(tokens.map(\.position) == [0, 2, 3])
    }

    @Test func nonLatinScriptsAreWords() {
        #expect(Analyzer.default.tokens("Привет мир 東京 ١٢٣").map(\.text) == ["привет", "мир", "東京", "١٢٣"])
    }

    @Test func rawKeepsTheWholeValue() {
        #expect(Analyzer.raw.tokens("New York, NY").map(\.text) == ["New York, NY"])
        #expect(Analyzer.raw.tokens("").isEmpty)
    }

    @Test func englishRemovesStopWordsAndStems() {
        let tokens = Analyzer.en.tokens("The runners are running in the connected networks")
        #expect(tokens.map(\.text) == ["runner", "run", "connect", "network"])
        #expect(tokens.map(\.position) == [1, 3, 6, 7])
    }

    @Test func codeSplitsIdentifiers() {
        let tokens = Analyzer.code.tokens("parseHTTPRequest(user_id, utf8Value)")
        #expect(tokens.map(\.text) == ["parse", "http", "request", "parsehttprequest", "user", "id", "userid", "utf8", "value", "utf8value"])
    }

    @Test(arguments: [
        ("caresses", "caress"), ("ponies", "poni"), ("ties", "ti"), ("cats", "cat"), ("feed", "feed"),
        ("agreed", "agre"), ("plastered", "plaster"), ("bled", "bled"), ("motoring", "motor"), ("sing", "sing"),
        ("hopping", "hop"), ("falling", "fall"), ("hissing", "hiss"), ("filing", "file"), ("happy", "happi"),
        ("sky", "sky"), ("relational", "relat"), ("conditional", "condit"), ("rational", "ration"),
        ("digitizer", "digit"), ("vietnamization", "vietnam"), ("predication", "predic"), ("operator", "oper"),
        ("decisiveness", "decis"), ("hopefulness", "hope"), ("formaliti", "formal"), ("sensitiviti", "sensit"),
        ("sensibiliti", "sensibl"), ("triplicate", "triplic"), ("formative", "form"), ("electriciti", "electr"),
        ("goodness", "good"), ("revival", "reviv"), ("allowance", "allow"), ("airliner", "airlin"),
        ("adjustable", "adjust"), ("replacement", "replac"), ("adjustment", "adjust"), ("dependent", "depend"),
        ("adoption", "adopt"), ("communism", "commun"), ("activate", "activ"), ("effective", "effect"),
        ("bowdlerize", "bowdler"), ("probate", "probat"), ("rate", "rate"), ("cease", "ceas"), ("controll", "control"),
        ("roll", "roll"), ("generalizations", "gener"), ("oscillators", "oscil"),
    ])
    func porterStemmer(word: String, stem: String) {
        #expect(PorterStemmer.stem(word) == stem)
    }
}
