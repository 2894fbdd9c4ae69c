import PrismRaft
import PrismStorage
import Testing

/// A follower too far behind gets the leader's snapshot as a stream of chunks.
@Suite("Raft snapshots in chunks")
struct RaftSnapshotTests {
    /// A leader with `entries` committed and compacted into a snapshot of `size` bytes, and `r3`
    /// cut off the whole time.
    func compactedCluster(seed: UInt64, chunk: Int, size: Int) throws -> (RaftCluster, String, RaftSnapshot) {
        var cluster = RaftCluster(nodes: 3, seed: seed, maxSnapshotChunkBytes: chunk)
        cluster.side["r3"] = 1
        for _ in 0..<200 where cluster.leader == nil || cluster.leader == "r3" { cluster.tick() }
        let leader = try #require(cluster.leader)
        #expect(leader != "r3")
        for n in 0..<20 {
            cluster.cores[leader]?.propose(Array("e\(n)".utf8))
            cluster.settle()
        }
        cluster.tick(2)
        let core = try #require(cluster.cores[leader])
        let index = core.commitIndex
        let term = try #require(core.entries.first { $0.index == index }?.term)
        let snapshot = RaftSnapshot(index: index, term: term, data: (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) })
        cluster.cores[leader]?.compact(snapshot)
        #expect(cluster.cores[leader]?.entries.first.map { $0.index > index } ?? true, "the log up to the snapshot is gone")
        return (cluster, leader, snapshot)
    }

    @Test("through loss, duplication and reordering the follower assembles exactly the leader's snapshot, one chunk in flight at a time",
          arguments: [UInt64(1), 2, 3, 4, 5])
    func chunksThroughLoss(seed: UInt64) throws {
        var (cluster, leader, snapshot) = try compactedCluster(seed: seed, chunk: 7, size: 300)
        cluster.side["r3"] = 0
        cluster.loss = 0.2
        cluster.delay = 0.3
        cluster.tick(400)
        cluster.loss = 0
        cluster.delay = 0
        cluster.tick(20)
        let got = try #require(cluster.installed["r3"]?.last, "r3 installed no snapshot")
        #expect(got.index == snapshot.index && got.term == snapshot.term)
        #expect(got.data == snapshot.data, "the chunks were put together in order, none twice or missing")
        #expect(cluster.installed["r3"]?.count == 1, "installed once")
        // And it follows the log from there.
        let l = try #require(cluster.leader)
        cluster.cores[l]?.propose(Array("after".utf8))
        cluster.settle()
        cluster.tick(3)
        #expect(cluster.applied["r3"]?.last?.data == Array("after".utf8))
        #expect(cluster.violations.isEmpty, "seed \(seed): \(cluster.violations)")
        _ = leader
    }

    @Test("a snapshot smaller than a chunk goes as one message; a large one as ⌈size / chunk⌉ chunks")
    func chunkCount() throws {
        for (chunk, size) in [(1 << 20, 300), (64, 1000)] {
            var (cluster, _, snapshot) = try compactedCluster(seed: 9, chunk: chunk, size: size)
            var chunks = 0, acks = 0
            // Count the chunks on the wire by stepping the messages by hand.
            cluster.side["r3"] = 0
            for _ in 0..<40 {
                cluster.tick()
                chunks = cluster.snapshotChunksSent
                acks = cluster.snapshotAcksSent
                if cluster.installed["r3"] != nil { break }
            }
            #expect(cluster.installed["r3"]?.last?.data == snapshot.data)
            let expected = (size + chunk - 1) / chunk
            #expect(chunks == expected, "chunk \(chunk), size \(size): \(chunks) chunks")
            #expect(acks == expected - 1, "every chunk but the last is acknowledged on its own")
        }
    }
}
