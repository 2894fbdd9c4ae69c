import ArgumentParser
import Foundation
import Logging
import PrismSearch
import PrismStorage

/// `prism bench vector`: HNSW build time, recall@10 against exact search, and query latency on
/// seeded vectors, side by side with hnswlib (PyPI) on the same data and queries.
struct VectorBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vector",
        abstract: "HNSW build time, recall@10 and queries/s on generated vectors; --vs-hnswlib runs hnswlib on the same data."
    )

    enum DataKind: String, ExpressibleByArgument, CaseIterable {
        /// Low-rank clustered data with a little noise, like real embeddings.
        case structured
        /// Uniform random: a known worst case for every graph index.
        case uniform
    }

    @Option(help: "Vectors to index.") var vectors: Int = 100_000
    @Option(help: "Dimensions.") var dim: Int = 128
    @Option(help: "Queries (each pass runs them all; 1000 make a pass long enough, about 0.5 s, that the alternated engines see the same machine speed).") var queries: Int = 1000
    @Option(help: "Timed passes over the queries (queries/s is the median pass; latencies cover every pass).") var passes: Int = 9
    @Option(help: "structured or uniform.") var data: DataKind = .structured
    @Option(help: "HNSW M.") var m: Int = 16
    @Option(help: "HNSW ef_construction.") var efConstruction: Int = 200
    @Option(help: "HNSW ef_search.") var efSearch: Int = 100
    @Option(help: "Seed.") var seed: UInt64 = 1
    @Option(help: "Working directory (a fresh subfolder is made and removed).")
    var dir: String = FileManager.default.temporaryDirectory.path
    @Flag(help: "Also run hnswlib (python3 with the `hnswlib` package) and print ratios.") var vsHnswlib = false
    @Flag(help: "Print one JSON object instead of text.") var json = false

    struct Figures: Codable {
        var engine: String
        var build_seconds: Double
        var recall_at_10: Double?
        var query_p50_ms: Double
        var query_p99_ms: Double
        var queries_per_s: Double
    }

    struct Report: Codable {
        var prism: Figures
        var hnswlib: Figures?
        var build_ratio: Double?
        /// Prism's queries/s over the peer's, pass by pass (each pair run back to back).
        var qps_ratio: Double?
        var qps_ratio_by_pass: [Double]?
        var vectors: Int
        var dim: Int
        var data: String
        var distance_kernel: String
        var command: String
    }

    func validate() throws {
        guard passes >= 1 else { throw ValidationError("--passes must be at least 1, got \(passes)") }
        guard queries >= 1 else { throw ValidationError("--queries must be at least 1, got \(queries)") }
    }

    func run() async throws {
        let folder = BenchSupport.freshFolder(in: dir, kind: "vector")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        BenchSupport.progress("generating \(vectors) × \(dim) \(data.rawValue) vectors and \(queries) queries (seed \(seed))")
        let points = generate(count: vectors, seed: seed)
        let questions = generate(count: queries, seed: seed &+ 1_000_003)
        BenchSupport.progress("exact top 10 for every query (ground truth)")
        let truth = questions.map { exactTop10($0, points) }

        let command = "prism bench vector --vectors \(vectors) --dim \(dim) --queries \(queries) --data \(data.rawValue) --m \(m) --ef-construction \(efConstruction) --ef-search \(efSearch) --seed \(seed) --passes \(passes)\(vsHnswlib ? " --vs-hnswlib" : "")"
        let report = try await withPrism(points, folder: folder) { build, search in
            // One untimed pass first, as the hnswlib runner does, so both are measured warm.
            for q in questions { _ = try search(q) }
            let peer = try vsHnswlib ? startHnswlib(points, questions, folder: folder) : nil
            defer { peer?.session.finish() }
            var prism = Passes(), other = Passes()
            for pass in 0..<passes {
                // Alternate which engine goes first, so neither always follows the other.
                let peerFirst = pass % 2 == 1
                if peerFirst, let peer { other.add(try peer.pass()) }
                prism.add(try timedPass(questions, search))
                if !peerFirst, let peer { other.add(try peer.pass()) }
            }
            var prismFigures = prism.figures(engine: "prism", build: build)
            prismFigures.recall_at_10 = recall(prism.labels, truth)
            var report = Report(prism: prismFigures, vectors: vectors, dim: dim, data: data.rawValue,
                                distance_kernel: DistanceKernel.inUse, command: command)
            if let peer {
                var figures = other.figures(engine: "hnswlib", build: peer.buildSeconds)
                figures.recall_at_10 = recall(other.labels, truth)
                report.hnswlib = figures
                report.build_ratio = peer.buildSeconds / build
                let ratios = zip(prism.rates, other.rates).map { $0 / $1 }
                report.qps_ratio_by_pass = ratios
                report.qps_ratio = ratios.sorted()[ratios.count / 2]
            }
            return report
        }
        if json {
            try BenchSupport.printJSON(report)
            return
        }
        print("vector benchmark: \(vectors) × \(dim) \(data.rawValue) (euclidean), M \(m), ef_construction \(efConstruction), ef_search \(efSearch), \(queries) queries, single thread, prism distance kernel \(report.distance_kernel)")
        for f in [report.prism] + (report.hnswlib.map { [$0] } ?? []) {
            print("  " + f.engine.padding(toLength: 9, withPad: " ", startingAt: 0)
                  + String(format: "build %7.1f s   recall@10 %.3f   query p50 %6.3f ms  p99 %6.3f ms   %7.0f queries/s",
                           f.build_seconds, f.recall_at_10 ?? 0, f.query_p50_ms, f.query_p99_ms, f.queries_per_s))
        }
        if let b = report.build_ratio, let q = report.qps_ratio {
            print(String(format: "  prism / hnswlib: build speed %.2f×, queries/s %.2f× (median of alternated passes; >1 means prism is faster)", b, q))
            print("  queries/s ratio by pass: " + (report.qps_ratio_by_pass ?? []).map { String(format: "%.2f", $0) }.joined(separator: " "))
        }
        print("reproduce: \(report.command)")
    }

    private func generate(count: Int, seed: UInt64) -> [[Float]] {
        var rng = SplitMix64(seed: seed)
        func uniform() -> Float { Float(Double(rng.next() >> 11) / Double(UInt64(1) << 53)) * 2 - 1 }
        switch data {
        case .uniform:
            return (0..<count).map { _ in (0..<dim).map { _ in uniform() } }
        case .structured:
            // Shared low-rank basis and cluster centers (seeded by the dimension only).
            var basisRNG = SplitMix64(seed: 77 &+ UInt64(dim))
            func b() -> Float { Float(Double(basisRNG.next() >> 11) / Double(UInt64(1) << 53)) * 2 - 1 }
            let rank = 16, clusters = 64
            let basis = (0..<rank).map { _ in (0..<dim).map { _ in b() } }
            let centers = (0..<clusters).map { _ in (0..<rank).map { _ in b() * 2 } }
            return (0..<count).map { _ in
                let c = centers[Int(rng.next() % UInt64(clusters))]
                let latent = c.map { $0 + uniform() * 0.6 }
                return (0..<dim).map { d in
                    var x: Float = 0
                    for r in 0..<rank { x += latent[r] * basis[r][d] }
                    return x + uniform() * 0.05
                }
            }
        }
    }

    private func exactTop10(_ q: [Float], _ points: [[Float]]) -> [Int] {
        var best: [(Float, Int)] = []
        for (i, p) in points.enumerated() {
            var d: Float = 0
            for j in 0..<dim { let t = p[j] - q[j]; d += t * t }
            if best.count < 10 { best.append((d, i)); best.sort { $0.0 < $1.0 } } else if d < best[9].0 {
                best[9] = (d, i)
                best.sort { $0.0 < $1.0 }
            }
        }
        return best.map(\.1)
    }

    private func recall(_ found: [[Int]], _ truth: [[Int]]) -> Double {
        var hit = 0
        for (f, t) in zip(found, truth) { hit += Set(f).intersection(t).count }
        return Double(hit) / Double(max(1, truth.count * 10))
    }

    /// Timed passes of one engine: each pass's rate, every latency, the first pass's labels.
    struct Passes {
        var rates: [Double] = []
        var latencies: [Double] = []
        var labels: [[Int]] = []

        mutating func add(_ pass: PassResult) {
            rates.append(pass.rate)
            latencies += pass.latencies
            if labels.isEmpty { labels = pass.labels }
        }

        func figures(engine: String, build: Double) -> Figures {
            let sorted = latencies.sorted(), rates = self.rates.sorted()
            return Figures(engine: engine, build_seconds: build, query_p50_ms: sorted[sorted.count / 2] * 1000,
                           query_p99_ms: sorted[min(sorted.count - 1, Int(Double(sorted.count) * 0.99))] * 1000,
                           queries_per_s: rates[rates.count / 2])
        }
    }

    /// One timed pass as the hnswlib runner reports it (seconds).
    struct PassResult: Decodable {
        var rate: Double
        var latencies: [Double]
        var labels: [[Int]]
    }

    private func timedPass(_ questions: [[Float]], _ search: ([Float]) throws -> [Int]) throws -> PassResult {
        let clock = ContinuousClock()
        var result = PassResult(rate: 0, latencies: [], labels: [])
        let wall = clock.now
        for q in questions {
            let t = clock.now
            let found = try search(q)
            result.latencies.append(BenchSupport.seconds(clock.now - t))
            result.labels.append(found)
        }
        result.rate = Double(questions.count) / BenchSupport.seconds(clock.now - wall)
        return result
    }

    /// Builds Prism's index through its write path (1000 documents per durable upsert) and runs
    /// `body` with the build's seconds and a query function, while the store is open.
    private func withPrism<T>(_ points: [[Float]], folder: String,
                              _ body: (Double, ([Float]) throws -> [Int]) throws -> T) async throws -> T {
        var quiet = Logger(label: "bench")
        quiet.logLevel = .error
        let env = try LMDBEnvironment(directory: folder + "/prism", options: StorageOptions(mapSize: 4 << 30), logger: quiet)
        defer { env.close() }
        let writer = GroupCommitWriter(environment: env, logger: quiet)
        defer { writer.shutdown() }
        let store = try CollectionStore(environment: env, writer: writer, logger: quiet)
        let schema = try SchemaParser().parse(try JSONParser.parse(Array("""
        {"backends":{"vector":{"dimension":\(dim),"distance":"euclidean","hnsw_m":\(m),"hnsw_ef_construction":\(efConstruction),"hnsw_ef_search":\(efSearch)}}}
        """.utf8)), name: "bench")
        _ = try await store.create(schema)
        BenchSupport.progress("prism: building")
        let clock = ContinuousClock()
        let start = clock.now
        let batch = 1000
        for s in stride(from: 0, to: points.count, by: batch) {
            let docs: [JSONValue] = (s..<min(s + batch, points.count)).map { i in
                .object(["id": .string(String(i)), "fields": .object(["embedding": .array(points[i].map { .double(Double($0)) })])])
            }
            _ = try await store.upsert("bench", documents: docs)
            if (s / batch) % 10 == 9 { BenchSupport.progress("prism: inserted \(s + batch)/\(points.count)") }
        }
        let build = BenchSupport.seconds(clock.now - start)
        BenchSupport.progress("prism: querying")
        return try body(build) { q in
            var r = SearchRequest()
            r.vector = q
            r.limit = 10
            r.includeDocuments = false
            return try store.search("bench", r).hits.compactMap { Int($0.id) }
        }
    }

    /// hnswlib, built and warm in its runner, answering one timed pass per request.
    struct HnswlibPeer {
        let session: PeerSession
        let buildSeconds: Double

        func pass() throws -> PassResult { try JSONDecoder().decode(PassResult.self, from: session.ask("pass")) }
    }

    private func startHnswlib(_ points: [[Float]], _ questions: [[Float]], folder: String) throws -> HnswlibPeer {
        func write(_ rows: [[Float]], _ path: String) throws {
            var bytes = [UInt8]()
            bytes.reserveCapacity(rows.count * dim * 4)
            for row in rows { for f in row { withUnsafeBytes(of: f.bitPattern.littleEndian) { bytes += $0 } } }
            try Data(bytes).write(to: URL(fileURLWithPath: path))
        }
        try write(points, folder + "/vectors.f32")
        try write(questions, folder + "/queries.f32")
        let session = try PeerSession("vector/hnswlib_runner.py", [folder + "/vectors.f32", folder + "/queries.f32", String(dim), "l2",
                                                                   String(m), String(efConstruction), String(efSearch), "10"],
                                      install: "pip install hnswlib numpy")
        struct Ready: Decodable { var build_seconds: Double }
        let ready = try JSONDecoder().decode(Ready.self, from: session.ready)
        return HnswlibPeer(session: session, buildSeconds: ready.build_seconds)
    }
}
