@testable import PrismSearch
import Testing

@Suite("Chunk arena")
struct ChunkArenaTests {
    /// Bytes mapped, and how many of them are in huge-page-advised mappings.
    private func mapped(_ arena: ChunkArena) -> (total: Int, huge: Int) {
        let regions = arena.regions
        return (regions.reduce(0) { $0 + $1.bytes }, regions.reduce(0) { $0 + ($1.huge ? $1.bytes : 0) })
    }

    /// Blocks are cache-line aligned, never overlap, keep what was written into them, and a freed
    /// block is handed out again before anything new is mapped.
    @Test(arguments: [1, 100, 4096, 135_300, 524_416])
    func blocksAreDisjointAlignedAndReused(blockBytes: Int) throws {
        let arena = ChunkArena(blockBytes: blockBytes)
        #expect(arena.blockBytes % 64 == 0 && arena.blockBytes >= blockBytes)
        var blocks: [UnsafeMutableRawPointer] = []
        // Enough blocks to need several mappings (they double from four blocks).
        for i in 0..<40 {
            let b = arena.allocate()
            #expect(Int(bitPattern: b) % 64 == 0)
            // Fresh memory is zero.
            #expect(b.load(as: UInt8.self) == 0 && b.load(fromByteOffset: blockBytes - 1, as: UInt8.self) == 0)
            b.storeBytes(of: UInt8(i), as: UInt8.self)
            b.storeBytes(of: UInt8(i), toByteOffset: blockBytes - 1, as: UInt8.self)
            blocks.append(b)
        }
        for (i, b) in blocks.enumerated() {
            #expect(b.load(as: UInt8.self) == UInt8(i) && b.load(fromByteOffset: blockBytes - 1, as: UInt8.self) == UInt8(i))
        }
        let starts = blocks.map { Int(bitPattern: $0) }.sorted()
        for (a, b) in zip(starts, starts.dropFirst()) { #expect(b - a >= arena.blockBytes) }
        let before = mapped(arena).total
        arena.free(blocks[7])
        arena.free(blocks[3])
        let again = [arena.allocate(), arena.allocate()]
        #expect(Set(again) == [blocks[3], blocks[7]])
        #expect(mapped(arena).total == before)
    }

    /// Once the arena maps 4 MiB at a time its mappings start on 2 MiB boundaries (where the
    /// kernel can back them with huge pages); small arenas map little.
    @Test func largeMappingsAreHugePageAligned() {
        let arena = ChunkArena(blockBytes: 135_300)
        _ = arena.allocate()
        #expect(mapped(arena).total < 1 << 20)
        #expect(mapped(arena).huge == 0)
        for _ in 0..<400 { _ = arena.allocate() }
        let huge = arena.regions.filter(\.huge)
        #expect(!huge.isEmpty)
        for r in huge {
            #expect(Int(bitPattern: r.base) % ChunkArena.hugePageBytes == 0)
            #expect(r.bytes % ChunkArena.hugePageBytes == 0 && r.bytes >= ChunkArena.hugeRegionBytes)
        }
        #expect(arena.regions.allSatisfy { $0.bytes <= ChunkArena.maximumRegionBytes })
        #expect(mapped(arena).total >= 401 * arena.blockBytes)
    }
}
