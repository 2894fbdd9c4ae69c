import Foundation
import PrismTestSupport
import Synchronization
import Testing

/// Nothing acknowledged is lost: SIGKILL a node in the middle of a concurrent bulk load, restart
/// it on the same data directory, and find every document whose write was acknowledged.
@Suite("Crash safety", .serialized)
struct CrashTests {
    @Test func everyAcknowledgedDocumentSurvivesKill9() async throws {
        let dir = TemporaryDirectory()
        let node = PrismProcess(arguments: ["serve", "--data-dir", dir.path, "--http", "127.0.0.1:0", "--log-level", "warning"])
        try await node.startServing()
        let client = node.client
        #expect(try await client.put("/collections/load", #"{"num_shards":4,"backends":{"text":{"fields":[{"name":"body","type":"text"}]}}}"#).status == 201)

        let tally = LoadTally()
        let writers = 8, batch = 25
        let load = Task {
            await withTaskGroup(of: Void.self) { group in
                for w in 0..<writers {
                    group.addTask {
                        var round = 0
                        while !Task.isCancelled {
                            let ids = (0..<batch).map { "w\(w)-r\(round)-\($0)" }
                            let docs = ids.map { #"{"id":"\#($0)","fields":{"body":"document \#($0) with some text"}}"# }
                            tally.attempted.withLock { $0 += batch }
                            guard let response = try? await client.post("/collections/load/documents", #"{"documents":[\#(docs.joined(separator: ","))]}"#) else {
                                return  // the node died mid-request: not acknowledged
                            }
                            if response.status == 201 && response.json["indexed"] as? Int == batch {
                                tally.acknowledged.withLock { $0.append(contentsOf: ids) }
                            }
                            round += 1
                        }
                    }
                }
            }
        }
        // Let the load run until plenty is acknowledged, then kill without warning.
        var waited = 0
        while tally.acknowledged.withLock({ $0.count }) < 2000 && waited < 60_000 {
            try await Task.sleep(for: .milliseconds(50))
            waited += 50
        }
        node.signal(SIGKILL)
        _ = await node.waitForExit()
        load.cancel()
        await load.value

        let acked = tally.acknowledged.withLock { $0 }
        let tried = tally.attempted.withLock { $0 }
        #expect(acked.count >= 2000, "the load acknowledged too little to be meaningful")

        let restarted = PrismProcess(arguments: ["serve", "--data-dir", dir.path, "--http", "127.0.0.1:0", "--log-level", "warning"])
        try await restarted.startServing()
        let again = restarted.client
        let stats = try await again.get("/collections/load/stats")
        let count = stats.json["document_count"] as? Int ?? -1
        #expect(count >= acked.count && count <= tried, "count \(count), acknowledged \(acked.count), attempted \(tried)")

        // Every acknowledged id must be readable; fetch them all with a few concurrent readers.
        let missing = await withTaskGroup(of: [String].self, returning: [String].self) { group in
            let slices = 8
            for s in 0..<slices {
                group.addTask {
                    var lost: [String] = []
                    for (i, id) in acked.enumerated() where i % slices == s {
                        let response = try? await again.get("/collections/load/documents/\(id)")
                        if response?.status != 200 { lost.append(id) }
                    }
                    return lost
                }
            }
            return await group.reduce(into: []) { $0.append(contentsOf: $1) }
        }
        #expect(missing.isEmpty, "\(missing.count) acknowledged documents lost, e.g. \(missing.prefix(5))")
        // And searchable: recent postings were only in memory when the node died; the restart
        // rebuilt them from the stored documents, so every stored document matches its words.
        let search = try await again.post("/collections/load/search", #"{"query":"document","limit":1}"#)
        #expect(search.status == 200)
        #expect(search.json["total"] as? Int == count, "\(search.json)")
        restarted.signal(SIGTERM)
        #expect(await restarted.waitForExit() == 0)
    }
}

/// What the load acknowledged and attempted, shared by its writers.
final class LoadTally: Sendable {
    let acknowledged = Mutex<[String]>([])
    let attempted = Mutex(0)
}
