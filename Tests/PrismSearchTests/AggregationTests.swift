import Foundation
@testable import PrismSearch
import PrismStorage
import Testing

@Suite("Aggregations")
struct AggregationTests {
    struct Row {
        let id: Int
        let price: Double
        let qty: Int64
        let color: String
        let when: Int64  // epoch micros
    }

    /// 200 seeded rows; the expected results are computed from them directly.
    static let rows: [Row] = {
        var rng = SplitMix64(seed: 11)
        let colors = ["red", "green", "blue", "black", "white"]
        return (0..<200).map { i in
            Row(id: i, price: Double(Int.random(in: 0..<10_000, using: &rng)) / 100, qty: Int64.random(in: 1...50, using: &rng),
                color: colors[Int.random(in: 0..<(i % 3 == 0 ? 2 : 5), using: &rng)],
                when: RFC3339.parse("2024-0\(1 + i % 6)-\(10 + i % 15)T0\(i % 10):30:00Z") ?? 0)
        }
    }()

    func store(shards: Int) async throws -> StoreFixture {
        let fixture = try StoreFixture()
        _ = try await fixture.store.create(try SchemaParser().parse(try json("""
        {"num_shards":\(shards),"backends":{"text":{"fields":[{"name":"title","type":"text"},{"name":"price","type":"f64"},
         {"name":"qty","type":"i64"},{"name":"color","type":"string"},{"name":"when","type":"date"}]}}}
        """), name: "shop"))
        let docs = AggregationTests.rows.map { r -> JSONValue in
            .object(["id": .string("\(r.id)"), "fields": .object([
                "title": .string(r.id % 2 == 0 ? "even item" : "odd item"), "price": .double(r.price), "qty": .int(r.qty),
                "color": .string(r.color), "when": .int(r.when),
            ])])
        }
        _ = try await fixture.store.upsert("shop", documents: docs)
        return fixture
    }

    func aggregate(_ fixture: StoreFixture, _ body: String) throws -> [String: JSONValue] {
        try fixture.store.aggregate("shop", body: try json(body))
    }

    func value(_ v: JSONValue?) -> Double? {
        guard case .object(let o)? = v else { return nil }
        return o["value"]?.doubleValue
    }

    @Test func metricsMatchDirectComputation() async throws {
        let fixture = try await store(shards: 3)
        let even = AggregationTests.rows.filter { $0.id % 2 == 0 }
        let out = try aggregate(fixture, """
        {"query":"even","aggregations":[{"name":"n","type":"count"},{"name":"s","type":"sum","field":"qty"},
         {"name":"a","type":"avg","field":"price"},{"name":"lo","type":"min","field":"price"},{"name":"hi","type":"max","field":"qty"},
         {"name":"st","type":"stats","field":"qty"}]}
        """)
        #expect(value(out["n"]) == Double(even.count))
        #expect(value(out["s"]) == Double(even.reduce(0) { $0 + $1.qty }))
        #expect(abs((value(out["a"]) ?? 0) - even.reduce(0) { $0 + $1.price } / Double(even.count)) < 1e-9)
        #expect(value(out["lo"]) == even.map(\.price).min())
        #expect(value(out["hi"]) == Double(even.map(\.qty).max() ?? 0))
        guard case .object(let st)? = out["st"] else { Issue.record("no stats"); return }
        #expect(st["count"]?.doubleValue == Double(even.count))
        #expect(st["sum"]?.doubleValue == Double(even.reduce(0) { $0 + $1.qty }))
    }

    @Test func percentilesStayWithinTheSketchError() async throws {
        let fixture = try await store(shards: 4)
        let out = try aggregate(fixture, #"{"aggregations":[{"name":"p","type":"percentiles","field":"price","percents":[50,90,99]}]}"#)
        let sorted = AggregationTests.rows.map(\.price).sorted()
        guard case .object(let p)? = out["p"], case .object(let values)? = p["values"] else { Issue.record("no percentiles"); return }
        for (label, q) in [("50.0", 0.5), ("90.0", 0.9), ("99.0", 0.99)] {
            let exact = sorted[Int((q * Double(sorted.count - 1)).rounded(.down))]
            let got = values[label]?.doubleValue ?? -1
            #expect(abs(got - exact) <= exact * 0.0101 + 1e-9, "p\(label): \(got) vs \(exact)")
        }
    }

    @Test func bucketsMatchDirectComputation() async throws {
        let fixture = try await store(shards: 2)
        let out = try aggregate(fixture, """
        {"aggregations":[
          {"name":"colors","type":"terms","field":"color","size":3,"aggs":[{"name":"q","type":"sum","field":"qty"}]},
          {"name":"h","type":"histogram","field":"price","interval":25},
          {"name":"r","type":"range","field":"qty","ranges":[{"to":10},{"key":"mid","from":10,"to":40},{"from":40}]},
          {"name":"months","type":"date_histogram","field":"when","calendar_interval":"month"},
          {"name":"f","type":"filter","filter":"color:red","aggs":[{"name":"c","type":"count"}]},
          {"name":"fs","type":"filters","filters":{"cheap":"price:[* TO 10]","dear":"price:[90 TO *]"}},
          {"name":"g","type":"global"}]}
        """)
        let rows = AggregationTests.rows
        var byColor: [String: [Row]] = [:]
        for r in rows { byColor[r.color, default: []].append(r) }
        let top = byColor.sorted { $0.value.count != $1.value.count ? $0.value.count > $1.value.count : $0.key < $1.key }.prefix(3)
        guard case .object(let colors)? = out["colors"], case .array(let buckets)? = colors["buckets"] else { Issue.record("no terms"); return }
        #expect(buckets.count == 3)
        for (bucket, expected) in zip(buckets, top) {
            guard case .object(let b) = bucket else { continue }
            #expect(b["key"] == .string(expected.key))
            #expect(b["doc_count"]?.doubleValue == Double(expected.value.count))
            guard case .object(let subs)? = b["aggs"] else { Issue.record("no sub aggs"); continue }
            #expect(value(subs["q"]) == Double(expected.value.reduce(0) { $0 + $1.qty }))
        }
        #expect(colors["sum_other_doc_count"]?.doubleValue == Double(rows.count - top.reduce(0) { $0 + $1.value.count }))

        guard case .object(let h)? = out["h"], case .array(let hb)? = h["buckets"] else { Issue.record("no histogram"); return }
        var histogram: [Double: Int] = [:]
        for r in rows { histogram[(r.price / 25).rounded(.down) * 25, default: 0] += 1 }
        #expect(hb.count == histogram.count)
        for case .object(let b) in hb { #expect(b["doc_count"]?.doubleValue == Double(histogram[b["key"]?.doubleValue ?? -1] ?? -1)) }

        guard case .object(let r)? = out["r"], case .array(let rb)? = r["buckets"] else { Issue.record("no range"); return }
        let counts = [rows.filter { $0.qty < 10 }.count, rows.filter { $0.qty >= 10 && $0.qty < 40 }.count, rows.filter { $0.qty >= 40 }.count]
        #expect(rb.compactMap { if case .object(let b) = $0 { return b["doc_count"]?.doubleValue.map(Int.init) } else { return nil } } == counts)
        if case .object(let mid) = rb[1] { #expect(mid["key"] == .string("mid")) }

        guard case .object(let m)? = out["months"], case .array(let mb)? = m["buckets"] else { Issue.record("no date histogram"); return }
        #expect(mb.count == 6)
        if case .object(let first) = mb[0] {
            #expect(first["key_as_string"] == .string("2024-01-01T00:00:00Z"))
            #expect(first["doc_count"]?.doubleValue == Double(rows.filter { $0.id % 6 == 0 }.count))
        }
        guard case .object(let f)? = out["f"] else { Issue.record("no filter"); return }
        #expect(f["doc_count"]?.doubleValue == Double(rows.filter { $0.color == "red" }.count))
        guard case .object(let fs)? = out["fs"], case .array(let fsb)? = fs["buckets"] else { Issue.record("no filters"); return }
        #expect(fsb.count == 2)
        if case .object(let cheap) = fsb[0] { #expect(cheap["doc_count"]?.doubleValue == Double(rows.filter { $0.price <= 10 }.count)) }
        guard case .object(let g)? = out["g"] else { Issue.record("no global"); return }
        #expect(g["doc_count"]?.doubleValue == 200)
    }

    @Test func shardedResultsEqualSingleShard() async throws {
        let one = try await store(shards: 1)
        let many = try await store(shards: 5)
        let body = """
        {"query":"item","aggregations":[{"name":"st","type":"stats","field":"price"},{"name":"p","type":"percentiles","field":"qty"},
         {"name":"t","type":"terms","field":"color","size":5},{"name":"h","type":"histogram","field":"qty","interval":10,
         "aggs":[{"name":"avg","type":"avg","field":"price"}]}]}
        """
        let a = try aggregate(one, body), b = try aggregate(many, body)
        #expect(a["t"] == b["t"])
        #expect(a["p"] == b["p"])
        #expect(a["h"].map(rounded) == b["h"].map(rounded))
        #expect(a["st"].map(rounded) == b["st"].map(rounded))
    }

    /// Floating sums depend on addition order; compare them to 9 significant digits.
    func rounded(_ v: JSONValue) -> JSONValue {
        switch v {
        case .double(let d): return .double((d * 1e6).rounded() / 1e6)
        case .array(let a): return .array(a.map(rounded))
        case .object(let o): return .object(o.mapValues(rounded))
        default: return v
        }
    }

    @Test(arguments: [
        (#"{}"#, "aggregations: required"),
        (#"{"aggregations":[{"name":"x","type":"median","field":"qty"}]}"#, "unknown aggregation 'median'"),
        (#"{"aggregations":[{"name":"x","type":"sum","field":"color"}]}"#, "'color' is string"),
        (#"{"aggregations":[{"name":"x","type":"sum","field":"nope"}]}"#, "'nope' is not a field"),
        (#"{"aggregations":[{"name":"x","type":"sum","field":"qty","aggs":[]}]}"#, "only bucket aggregations"),
        (#"{"aggregations":[{"name":"x","type":"histogram","field":"qty","interval":0}]}"#, "interval: required positive number"),
        (#"{"aggregations":[{"name":"x","type":"date_histogram","field":"when","calendar_interval":"fortnight"}]}"#, "calendar_interval"),
        (#"{"aggregations":[{"name":"x","type":"terms","field":"qty","size":0}]}"#, "size: expected an integer"),
        (#"{"aggregations":[{"name":"x","type":"count"},{"name":"x","type":"count"}]}"#, "'x' is used twice"),
        (#"{"aggregations":[{"name":"x","type":"count","field":"qty"}]}"#, "field: unknown parameter for count"),
        (#"{"query":"(","aggregations":[{"name":"x","type":"count"}]}"#, "query: query syntax error"),
    ])
    func badRequestsAreRefused(body: String, message: String) async throws {
        let fixture = try await store(shards: 1)
        do {
            _ = try aggregate(fixture, body)
            Issue.record("accepted \(body)")
        } catch {
            #expect("\(error)".contains(message), "\(error)")
        }
    }
}
