#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// Fixed-size blocks for a shard's vector and graph chunks, carved from a few large mappings
/// instead of one `malloc` each. A graph walk touches a vector and a neighbor list at random
/// addresses all over tens of megabytes; with 4 KiB pages nearly every one of those touches also
/// misses the TLB and walks the page table. Mappings of 4 MiB and more are 2 MiB-aligned and
/// marked `MADV_HUGEPAGE`, so once a shard is large its chunks sit on huge pages (with the
/// kernel's THP mode `madvise`, the default here, nothing else in the process gets them), and a
/// walk's whole working set fits the TLB.
///
/// Mappings grow by doubling (a small shard maps little) up to `maximumRegionBytes`. Freed blocks
/// are reused (the graph replaces the chunks an insert batch copied); mappings are returned only
/// when the arena goes, so the owner must outlive every block it handed out.
final class ChunkArena: @unchecked Sendable {
    static let hugePageBytes = 2 << 20
    /// Mappings this large and up are huge-page aligned and advised.
    static let hugeRegionBytes = 4 << 20
    static let maximumRegionBytes = 32 << 20

    /// Each block's size (a multiple of 64, so blocks start on cache lines).
    let blockBytes: Int

    private struct Region {
        let base: UnsafeMutableRawPointer
        let bytes: Int
        let huge: Bool
    }

    private struct State {
        var regions: [Region] = []
        var free: [UnsafeMutableRawPointer] = []
        var next: UnsafeMutableRawPointer?
        var end: UnsafeMutableRawPointer?
        var nextRegionBytes: Int
    }

    private let state: Mutex<State>

    init(blockBytes: Int) {
        self.blockBytes = (max(1, blockBytes) + 63) & ~63
        // The first mapping holds a few blocks; the following ones double.
        state = Mutex(State(nextRegionBytes: min(ChunkArena.maximumRegionBytes, 4 * self.blockBytes)))
    }

    deinit {
        state.withLock { s in
            for r in s.regions { munmap(r.base, r.bytes) }
        }
    }

    /// A block of `blockBytes`, 64-byte aligned; its contents are unspecified (zero when new).
    func allocate() -> UnsafeMutableRawPointer {
        state.withLock { s in
            if let reused = s.free.popLast() { return reused }
            if let next = s.next, let end = s.end, end - next >= blockBytes {
                s.next = next + blockBytes
                return next
            }
            let region = Self.map(max(s.nextRegionBytes, blockBytes))
            s.regions.append(region)
            s.nextRegionBytes = min(Self.maximumRegionBytes, 2 * s.nextRegionBytes)
            s.next = region.base + blockBytes
            s.end = region.base + region.bytes
            return region.base
        }
    }

    /// Returns a block `allocate` gave out; it may be handed out again at once.
    func free(_ block: UnsafeMutableRawPointer) {
        // Kept as an address: a pointer is not Sendable into the lock.
        let address = UInt(bitPattern: block)
        state.withLock { s in
            if let p = UnsafeMutableRawPointer(bitPattern: address) { s.free.append(p) }
        }
    }

    /// The base addresses of the mappings and whether each is huge-page aligned and advised.
    var regions: [(base: UnsafeMutableRawPointer, bytes: Int, huge: Bool)] {
        state.withLock { s in s.regions.map { ($0.base, $0.bytes, $0.huge) } }
    }

    /// Maps `bytes` of anonymous memory; large mappings are trimmed to a huge-page boundary and
    /// advised. Running out of address space is not recoverable here (as `malloc` failing is not).
    private static func map(_ bytes: Int) -> Region {
        let huge = bytes >= hugeRegionBytes
        let size = huge ? (bytes + hugePageBytes - 1) / hugePageBytes * hugePageBytes : (bytes + 4095) / 4096 * 4096
        let extra = huge ? hugePageBytes : 0
        guard let raw = mmap(nil, size + extra, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), raw != MAP_FAILED else {
            fatalError("ChunkArena: mmap of \(size + extra) bytes failed (errno \(errno))")
        }
        guard huge else { return Region(base: raw, bytes: size, huge: false) }
        let address = Int(bitPattern: raw)
        let aligned = (address + hugePageBytes - 1) / hugePageBytes * hugePageBytes
        let head = aligned - address
        if head > 0 { munmap(raw, head) }
        let tail = extra - head
        let base = raw + head
        if tail > 0 { munmap(base + size, tail) }
        #if os(Linux)
        // A hint: with THP off (`never`) it does nothing, and nothing depends on it.
        _ = madvise(base, size, MADV_HUGEPAGE)
        #endif
        return Region(base: base, bytes: size, huge: true)
    }
}
