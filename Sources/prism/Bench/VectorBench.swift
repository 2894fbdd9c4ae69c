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
    @Option(help: "Queries.") var queries: Int = 200
    @Option(help: "Timed passes over the queries (queries/s is the median pass; latencies cover every pass).") var passes: Int = 5
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
        var labels: [[Int]]?
    }

    struct Report: Codable {
        var prism: Figures
        var hnswlib: Figures?
        var build_ratio: Double?
        var qps_ratio: Double?
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

        var prism = try await runPrism(points, questions, folder: folder)
        prism.recall_at_10 = recall(prism.labels ?? [], truth)
        var report = Report(prism: prism, vectors: vectors, dim: dim, data: data.rawValue, distance_kernel: DistanceKernel.inUse,
                            command: "prism bench vector --vectors \(vectors) --dim \(dim) --queries \(queries) --data \(data.rawValue) --m \(m) --ef-construction \(efConstruction) --ef-search \(efSearch) --seed \(seed) --passes \(passes)\(vsHnswlib ? " --vs-hnswlib" : "")")
        if vsHnswlib {
            var other = try runHnswlib(points, questions, folder: folder)
            other.recall_at_10 = recall(other.labels ?? [], truth)
            other.labels = nil
            report.hnswlib = other
            report.build_ratio = other.build_seconds / prism.build_seconds
            report.qps_ratio = prism.queries_per_s / other.queries_per_s
        }
        report.prism.labels = nil
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
            print(String(format: "  prism / hnswlib: build speed %.2f×, queries/s %.2f× (>1 means prism is faster)", b, q))
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

    private func runPrism(_ points: [[Float]], _ questions: [[Float]], folder: String) async throws -> Figures {
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
        func request(_ q: [Float]) -> SearchRequest {
            var r = SearchRequest()
            r.vector = q
            r.limit = 10
            r.includeDocuments = false
            return r
        }
        // One untimed pass first, as the hnswlib runner does, so both are measured warm.
        for q in questions { _ = try store.search("bench", request(q)) }
        var labels: [[Int]] = []
        var latencies: [Double] = []
        var passRates: [Double] = []
        for pass in 0..<passes {
            let wall = clock.now
            for q in questions {
                let r = request(q)
                let t = clock.now
                let result = try store.search("bench", r)
                latencies.append(BenchSupport.seconds(clock.now - t))
                if pass == 0 { labels.append(result.hits.compactMap { Int($0.id) }) }
            }
            passRates.append(Double(questions.count) / BenchSupport.seconds(clock.now - wall))
        }
        latencies.sort()
        passRates.sort()
        return Figures(engine: "prism", build_seconds: build, query_p50_ms: latencies[latencies.count / 2] * 1000,
                       query_p99_ms: latencies[min(latencies.count - 1, Int(Double(latencies.count) * 0.99))] * 1000,
                       queries_per_s: passRates[passRates.count / 2], labels: labels)
    }

    private func runHnswlib(_ points: [[Float]], _ questions: [[Float]], folder: String) throws -> Figures {
        func write(_ rows: [[Float]], _ path: String) throws {
            var bytes = [UInt8]()
            bytes.reserveCapacity(rows.count * dim * 4)
            for row in rows { for f in row { withUnsafeBytes(of: f.bitPattern.littleEndian) { bytes += $0 } } }
            try Data(bytes).write(to: URL(fileURLWithPath: path))
        }
        try write(points, folder + "/vectors.f32")
        try write(questions, folder + "/queries.f32")
        let data = try BenchSupport.runPython("vector/hnswlib_runner.py", [folder + "/vectors.f32", folder + "/queries.f32", String(dim), "l2",
                                                                            String(m), String(efConstruction), String(efSearch), "10", String(passes)],
                                              install: "pip install hnswlib numpy")
        return try JSONDecoder().decode(Figures.self, from: data)
    }


}
