import ArgumentParser
import Foundation
import Logging
import PrismSearch
import PrismStorage

/// `prism bench search`: index throughput and BM25 query latency on a seeded Zipfian corpus,
/// side by side with Tantivy (PyPI) on the same documents and queries.
struct SearchBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "search",
        abstract: "Index docs/s, BM25 query p50/p99 and queries/s on a generated corpus; --vs-tantivy runs Tantivy on the same data."
    )

    @Option(help: "Documents in the corpus.") var docs: Int = 100_000
    @Option(help: "Distinct queries.") var queries: Int = 400
    @Option(name: .customLong("repeat"), help: "Timed passes over the queries; with --vs-tantivy each is paired with a Tantivy pass run next to it.") var rounds: Int = 9
    @Option(help: "Times each pass runs the whole query set (a pass must last long enough that both engines see the same machine speed; 400 queries take well under 0.1 s).") var passRepeat: Int = 5
    @Option(help: "Times the corpus is indexed from scratch (the index figure is the median; with --vs-tantivy each round pairs the engines).") var indexRounds: Int = 3
    @Option(help: "Corpus seed.") var seed: UInt64 = 1
    @Option(help: "Shards of the collection.") var shards: Int = 1
    @Option(help: "Documents per upsert call.") var batch: Int = 1000
    @Option(help: "Upsert calls kept in flight while indexing (a bulk loader's concurrency).") var inFlight: Int = 4
    @Option(help: "Working directory (a fresh subfolder is made and removed).")
    var dir: String = FileManager.default.temporaryDirectory.path
    @Option(help: "Use this corpus (JSON lines {\"id\", \"body\"}) instead of the generated one; see bench/search/natural_corpus.py.")
    var corpus: String?
    @Option(help: "Queries for --corpus, one per line.") var queryFile: String?
    @Flag(help: "Also run Tantivy (python3 with the `tantivy` package) and print ratios.") var vsTantivy = false
    @Option(help: "Also write the corpus (corpus.jsonl) and queries (queries.txt) to this folder, to run other engines on them or rerun one query kind with --corpus.")
    var export: String?
    @Flag(help: "Print one JSON object instead of text.") var json = false

    struct EngineFigures: Codable {
        var engine: String
        var docs: Int
        var index_docs_per_s: Double
        var query_p50_ms: Double
        var query_p99_ms: Double
        var queries_per_s: Double
        var top10: [[[JSONValue]]]?
        var p50_ms_by_kind: [String: Double]?
        var mean_ms_by_kind: [String: Double]?
        /// Tantivy only: its loop timed again with each query string parsed inside it (Prism's
        /// figures always include parsing; Tantivy's main figures are for pre-parsed queries).
        var query_p50_ms_with_parse: Double?
        var queries_per_s_with_parse: Double?
    }

    func validate() throws {
        guard rounds >= 1 else { throw ValidationError("--repeat must be at least 1, got \(rounds)") }
        guard passRepeat >= 1 else { throw ValidationError("--pass-repeat must be at least 1, got \(passRepeat)") }
        guard indexRounds >= 1 else { throw ValidationError("--index-rounds must be at least 1, got \(indexRounds)") }
    }

    struct Report: Codable {
        var prism: EngineFigures
        var tantivy: EngineFigures?
        var index_ratio: Double?
        var qps_ratio: Double?
        var p50_ratio: Double?
        /// Prism ÷ Tantivy when Tantivy's loop parses its query strings too.
        var qps_ratio_with_parse: Double?
        /// Prism ÷ Tantivy round by round and pass by pass (each pair run back to back); the
        /// ratios above are their medians.
        var index_ratio_by_round: [Double]?
        var qps_ratio_by_pass: [Double]?
        var top10_overlap: Double?
        var queries: Int
        var seed: UInt64
        var command: String
    }

    func run() async throws {
        let folder = BenchSupport.freshFolder(in: dir, kind: "search")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let corpus: SyntheticCorpus
        if let path = self.corpus {
            guard let queryFile else { throw ValidationError("--corpus needs --query-file") }
            BenchSupport.progress("loading \(path) and \(queryFile)")
            corpus = try SyntheticCorpus(corpusFile: path, queryFile: queryFile)
        } else {
            BenchSupport.progress("generating \(docs) documents and \(queries) queries (seed \(seed))")
            corpus = SyntheticCorpus(documents: docs, queries: queries, seed: seed)
        }
        let docs = corpus.documents.count, queries = corpus.queries.count
        if let export {
            try FileManager.default.createDirectory(atPath: export, withIntermediateDirectories: true)
            try writeCorpus(corpus, to: export)
            BenchSupport.progress("corpus and queries written to \(export)")
        }

        let command = (self.corpus.map { "prism bench search --corpus \($0) --query-file \(queryFile ?? "")" }
                       ?? "prism bench search --docs \(docs) --queries \(queries) --seed \(seed)")
            + " --repeat \(rounds) --pass-repeat \(passRepeat) --index-rounds \(indexRounds) --shards \(shards) --batch \(batch) --in-flight \(inFlight)\(vsTantivy ? " --vs-tantivy" : "")"
        let peer = try vsTantivy ? startTantivy(corpus, folder: folder) : nil
        defer { peer?.session.finish() }

        // Index rounds, the engines alternating which goes first; Prism keeps its last index.
        var prismIndex: [Double] = [], peerIndex: [Double] = []
        var subject: IndexedStore?
        for round in 0..<indexRounds {
            let peerFirst = round % 2 == 1
            if peerFirst, let peer { peerIndex.append(try peer.index()) }
            subject?.close()
            subject = nil
            let indexed = try await index(corpus, folder: folder + "/prism-\(round)")
            prismIndex.append(indexed.seconds)
            subject = indexed
            if !peerFirst, let peer { peerIndex.append(try peer.index()) }
        }
        guard let subject else { throw ValidationError("--index-rounds must be at least 1") }
        defer { subject.close() }

        BenchSupport.progress("querying: \(rounds) passes of \(queries) queries × \(passRepeat)\(peer == nil ? "" : ", alternating with tantivy")")
        var requests: [SearchRequest] = []
        for q in corpus.queries {
            var r = SearchRequest()
            r.query = q
            r.fields = ["body"]
            r.includeDocuments = false
            requests.append(r)
        }
        // The untimed first pass warms both and gives the hits compared for quality.
        var top10: [[[JSONValue]]] = []
        for r in requests {
            let result = try subject.store.search("bench", r)
            top10.append(result.hits.map { [.string($0.id), .double(Double($0.score))] })
        }
        let peerTop10 = try peer?.top10()
        var prismPasses: [QueryPass] = [], peerPasses: [QueryPass] = [], parsePasses: [QueryPass] = []
        for pass in 0..<rounds {
            let peerFirst = pass % 2 == 1
            if peerFirst, let peer { peerPasses.append(try peer.pass("pass \(passRepeat)")); parsePasses.append(try peer.pass("pass-parse \(passRepeat)")) }
            prismPasses.append(try queryPass(subject.store, requests, repeat: passRepeat))
            if !peerFirst, let peer { peerPasses.append(try peer.pass("pass \(passRepeat)")); parsePasses.append(try peer.pass("pass-parse \(passRepeat)")) }
        }
        if ProcessInfo.processInfo.environment["BENCH_BREAKDOWN"] != nil { try breakdown(subject.store, requests) }

        let prism = figures("prism", docs: docs, queries: queries, index: prismIndex, prismPasses)
        var report = Report(prism: prism, queries: queries, seed: seed, command: command)
        if let peer {
            var tantivy = figures(peer.engine, docs: docs, queries: queries, index: peerIndex, peerPasses)
            let withParse = figures(peer.engine, docs: docs, queries: queries, index: peerIndex, parsePasses)
            tantivy.query_p50_ms_with_parse = withParse.query_p50_ms
            tantivy.queries_per_s_with_parse = withParse.queries_per_s
            report.tantivy = tantivy
            let indexRatios = zip(peerIndex, prismIndex).map { $0 / $1 }
            let qpsRatios = zip(prismPasses, peerPasses).map { $0.rate / $1.rate }
            report.index_ratio_by_round = indexRatios
            report.qps_ratio_by_pass = qpsRatios
            report.index_ratio = median(indexRatios)
            report.qps_ratio = median(qpsRatios)
            report.qps_ratio_with_parse = median(zip(prismPasses, parsePasses).map { $0.rate / $1.rate })
            report.p50_ratio = tantivy.query_p50_ms / prism.query_p50_ms
            report.top10_overlap = overlap(top10, peerTop10 ?? [])
            if ProcessInfo.processInfo.environment["BENCH_BREAKDOWN"] != nil, let kinds = tantivy.p50_ms_by_kind {
                BenchSupport.progress("tantivy p50 by kind: \(kinds.sorted { $0.key < $1.key }.map { "\($0.key) \(String(format: "%.3f", $0.value)) ms" }.joined(separator: ", "))")
                if let means = tantivy.mean_ms_by_kind {
                    BenchSupport.progress("tantivy mean by kind: \(means.sorted { $0.key < $1.key }.map { "\($0.key) \(String(format: "%.3f", $0.value)) ms" }.joined(separator: ", "))")
                }
            }
        }
        if json {
            try BenchSupport.printJSON(report)
            return
        }
        let source = self.corpus.map { "corpus \($0)" } ?? "Zipfian vocabulary, seed \(seed)"
        print("search benchmark: \(docs) docs (\(source)), \(queries) queries × \(passRepeat) per pass × \(rounds) passes, top 10, single thread, \(ProcessInfo.processInfo.activeProcessorCount) cores")
        func line(_ f: EngineFigures) {
            print("  " + f.engine.padding(toLength: 16, withPad: " ", startingAt: 0)
                  + String(format: "index %8.0f docs/s   query p50 %7.3f ms  p99 %7.3f ms   %8.0f queries/s",
                           f.index_docs_per_s, f.query_p50_ms, f.query_p99_ms, f.queries_per_s))
        }
        line(report.prism)
        if let t = report.tantivy {
            line(t)
            print(String(format: "  prism / tantivy: index %.2f×, queries/s %.2f×, p50 %.2f× (>1 means prism is faster; medians of alternated rounds and passes); top-10 overlap %.1f%%",
                         report.index_ratio ?? 0, report.qps_ratio ?? 0, report.p50_ratio ?? 0, (report.top10_overlap ?? 0) * 100))
            print("  index ratio by round: " + (report.index_ratio_by_round ?? []).map { String(format: "%.2f", $0) }.joined(separator: " ")
                  + "; queries/s ratio by pass: " + (report.qps_ratio_by_pass ?? []).map { String(format: "%.2f", $0) }.joined(separator: " "))
            if let withParse = report.qps_ratio_with_parse, let q = t.queries_per_s_with_parse, let p50 = t.query_p50_ms_with_parse {
                print(String(format: "  tantivy parsing each query in its timed loop too (as prism does): %.0f queries/s, p50 %.3f ms; prism / tantivy queries/s %.2f×",
                             q, p50, withParse))
            }
        }
        print("reproduce: \(report.command)")
    }

    /// A store holding one indexing round's result, open for querying until `close`.
    struct IndexedStore {
        let env: LMDBEnvironment
        let writer: GroupCommitWriter
        let store: CollectionStore
        let seconds: Double
        let folder: String

        func close() {
            writer.shutdown()
            env.close()
            try? FileManager.default.removeItem(atPath: folder)
        }
    }

    /// Indexes the corpus into a fresh store through the real write path; timed to the end of
    /// writing every posting to LMDB, as Tantivy is timed to its commit.
    private func index(_ corpus: SyntheticCorpus, folder: String) async throws -> IndexedStore {
        var quiet = Logger(label: "bench")
        quiet.logLevel = .error
        let env = try LMDBEnvironment(directory: folder, options: StorageOptions(mapSize: 4 << 30), logger: quiet)
        let writer = GroupCommitWriter(environment: env, logger: quiet)
        do {
            let store = try CollectionStore(environment: env, writer: writer, logger: quiet)
            let schema = try SchemaParser().parse(try JSONParser.parse(Array(
                #"{"num_shards":\#(shards),"backends":{"text":{"fields":[{"name":"body","type":"text","stored":false}]}}}"#.utf8)), name: "bench")
            _ = try await store.create(schema)
            BenchSupport.progress("prism: indexing")
            let clock = ContinuousClock()
            let start = clock.now
            let cpuStart = NodeProcess.cpuMicroseconds(pid: getpid())
            // Several batches in flight, as a bulk loader keeps them: some are analyzed while the
            // writer stores another and a third reaches the postings buffer (Tantivy's writer
            // likewise indexes on its own thread while the caller adds documents).
            let documents = corpus.documents
            let batchSize = batch
            let concurrency = max(1, inFlight)
            try await withThrowingTaskGroup(of: Void.self) { group in
                var next = 0
                var inFlight = 0
                while next < documents.count {
                    if inFlight == concurrency {
                        try await group.next()
                        inFlight -= 1
                    }
                    let slice = documents[next..<min(next + batchSize, documents.count)]
                    group.addTask {
                        let jsons: [JSONValue] = slice.map { .object(["id": .string($0.id), "fields": .object(["body": .string($0.body)])]) }
                        _ = try await store.upsert("bench", documents: jsons)
                    }
                    inFlight += 1
                    next += slice.count
                    if next % (batchSize * 20) == 0 { BenchSupport.progress("prism: indexed \(next)/\(documents.count)") }
                }
                try await group.waitForAll()
            }
            let upserted = clock.now
            try await store.flushPostings()
            let seconds = BenchSupport.seconds(clock.now - start)
            BenchSupport.progress(String(format: "prism: indexed in %.2f s (upserts %.2f s, final postings flush %.2f s; %d postings flushes took %.2f s), %.2f CPU s",
                                         seconds, BenchSupport.seconds(upserted - start), BenchSupport.seconds(clock.now - upserted),
                                         store.postingsFlushes, store.postingsFlushSeconds, (NodeProcess.cpuMicroseconds(pid: getpid()) - cpuStart) / 1e6))
            return IndexedStore(env: env, writer: writer, store: store, seconds: seconds, folder: folder)
        } catch {
            writer.shutdown()
            env.close()
            throw error
        }
    }

    /// One timed pass over the queries: seconds per query and for the whole pass.
    struct QueryPass: Decodable {
        var latencies: [Double]
        var wall: Double
        var rate: Double { Double(latencies.count) / wall }
    }

    private func queryPass(_ store: CollectionStore, _ requests: [SearchRequest], repeat times: Int) throws -> QueryPass {
        let clock = ContinuousClock()
        var latencies: [Double] = []
        latencies.reserveCapacity(requests.count * times)
        let wall = clock.now
        for _ in 0..<times {
            for r in requests {
                let t = clock.now
                _ = try store.search("bench", r)
                latencies.append(BenchSupport.seconds(clock.now - t))
            }
        }
        return QueryPass(latencies: latencies, wall: BenchSupport.seconds(clock.now - wall))
    }

    private func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        return sorted.isEmpty ? 0 : sorted[sorted.count / 2]
    }

    /// An engine's figures: median index round, latencies over every pass, median pass rate, and
    /// p50/mean per query kind (the corpus's queries cycle term, OR, AND, phrase; a pass runs the
    /// query set several times, so the kind comes from the position within the set).
    private func figures(_ engine: String, docs: Int, queries: Int, index: [Double], _ passes: [QueryPass]) -> EngineFigures {
        var all: [Double] = []
        var byKind: [[Double]] = Array(repeating: [], count: 4)
        for pass in passes {
            all += pass.latencies
            for (i, l) in pass.latencies.enumerated() { byKind[i % max(1, queries) % 4].append(l) }
        }
        all.sort()
        let names = ["term", "or", "and", "phrase"]
        var p50: [String: Double] = [:], mean: [String: Double] = [:]
        for (kind, own) in byKind.enumerated() where !own.isEmpty {
            p50[names[kind]] = median(own) * 1000
            mean[names[kind]] = own.reduce(0, +) / Double(own.count) * 1000
        }
        return EngineFigures(engine: engine, docs: docs, index_docs_per_s: Double(docs) / median(index),
                             query_p50_ms: (all.isEmpty ? 0 : all[all.count / 2]) * 1000,
                             query_p99_ms: (all.isEmpty ? 0 : all[min(all.count - 1, Int(Double(all.count) * 0.99))]) * 1000,
                             queries_per_s: median(passes.map(\.rate)), p50_ms_by_kind: p50, mean_ms_by_kind: mean)
    }

    /// Median latency per query kind and the slowest queries, for profiling (BENCH_BREAKDOWN=1).
    private func breakdown(_ store: CollectionStore, _ requests: [SearchRequest]) throws {
        let clock = ContinuousClock()
        for kind in 0..<4 {
            var own: [Double] = []
            var timed: [(Double, String)] = []
            for (i, r) in requests.enumerated() where i % 4 == kind {
                let t = clock.now
                _ = try store.search("bench", r)
                own.append(BenchSupport.seconds(clock.now - t))
                timed.append((own[own.count - 1], r.query))
            }
            guard !own.isEmpty else { continue }
            own.sort()
            timed.sort { $0.0 < $1.0 }
            let median = timed[timed.count / 2]
            BenchSupport.progress("prism kind \(["term", "or", "and", "phrase"][kind]): median query \(median.1) (\(String(format: "%.3f", median.0 * 1000)) ms), slowest \(timed.suffix(3).map { "\($0.1) (\(String(format: "%.3f", $0.0 * 1000)) ms)" }.joined(separator: ", "))")
            let mean = own.reduce(0, +) / Double(max(1, own.count))
            BenchSupport.progress("prism kind \(["term", "or", "and", "phrase"][kind]): p50 \(String(format: "%.3f", own[own.count / 2] * 1000)) ms, mean \(String(format: "%.3f", mean * 1000)) ms, max \(String(format: "%.3f", (own.last ?? 0) * 1000)) ms")
        }
    }

    /// Tantivy loaded in its runner, indexing and answering one step per request.
    struct TantivyPeer {
        let session: PeerSession
        let engine: String

        func index() throws -> Double {
            struct Indexed: Decodable { var index_seconds: Double }
            BenchSupport.progress("tantivy: indexing")
            return try JSONDecoder().decode(Indexed.self, from: session.ask("index")).index_seconds
        }

        func top10() throws -> [[[JSONValue]]] {
            struct Top: Decodable { var top10: [[[JSONValue]]] }
            return try JSONDecoder().decode(Top.self, from: session.ask("top10")).top10
        }

        func pass(_ command: String) throws -> QueryPass { try JSONDecoder().decode(QueryPass.self, from: session.ask(command)) }
    }

    private func startTantivy(_ corpus: SyntheticCorpus, folder: String) throws -> TantivyPeer {
        BenchSupport.progress("tantivy: writing corpus for the runner")
        try writeCorpus(corpus, to: folder)
        let session = try PeerSession("search/tantivy_runner.py", [folder + "/corpus.jsonl", folder + "/queries.txt"], install: "pip install tantivy")
        struct Ready: Decodable { var engine: String }
        return TantivyPeer(session: session, engine: try JSONDecoder().decode(Ready.self, from: session.ready).engine)
    }

    /// Writes `corpus.jsonl` (`{"id", "body"}` lines) and `queries.txt` (one per line) to `folder`.
    private func writeCorpus(_ corpus: SyntheticCorpus, to folder: String) throws {
        var lines = ""
        let encoder = JSONEncoder()
        for d in corpus.documents {
            lines += String(decoding: try encoder.encode(["id": d.id, "body": d.body]), as: UTF8.self) + "\n"
        }
        try lines.write(toFile: folder + "/corpus.jsonl", atomically: false, encoding: .utf8)
        try (corpus.queries.joined(separator: "\n") + "\n").write(toFile: folder + "/queries.txt", atomically: false, encoding: .utf8)
    }

    /// Fraction of top-10 ids shared, averaged over queries (both empty counts as full agreement).
    private func overlap(_ a: [[[JSONValue]]], _ b: [[[JSONValue]]]) -> Double {
        var total = 0.0
        for (x, y) in zip(a, b) {
            let ids = { (hits: [[JSONValue]]) -> Set<String> in
                Set(hits.compactMap { if case .string(let s)? = $0.first { return s } else { return nil } })
            }
            let sx = ids(x), sy = ids(y)
            total += sx.isEmpty && sy.isEmpty ? 1 : Double(sx.intersection(sy).count) / Double(max(sx.count, sy.count))
        }
        return a.isEmpty ? 0 : total / Double(min(a.count, b.count))
    }


}
