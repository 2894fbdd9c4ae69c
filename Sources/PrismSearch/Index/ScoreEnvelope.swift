/// Up to four (frequency, norm id) corners that dominate every posting of a block: each posting
/// has a corner with at least its frequency and at most its norm id. BM25 grows with the
/// frequency and falls with the length, so the block's best score is at most its best corner's,
/// whatever k1, b, the average length and the idf are. One corner (the largest frequency with
/// the smallest norm) is a loose bound for long blocks of common terms, where the most frequent
/// posting is rarely the shortest; four corners on the block's Pareto frontier of (frequency,
/// shortness) come close to the exact best score, so single-term top-k skips most blocks.
struct ScoreEnvelope: Equatable {
    static let corners = 4
    /// Bytes `encode` writes: per corner, norm id u8 and frequency u16 big-endian (saturating).
    static let encodedSize = 12
    /// A stored frequency this large stands for any larger one.
    private static let saturated: UInt16 = .max

    var frequencies: SIMD4<UInt32>
    var normIDs: SIMD4<UInt8>

    init(frequencies: SIMD4<UInt32>, normIDs: SIMD4<UInt8>) {
        self.frequencies = frequencies
        self.normIDs = normIDs
    }

    /// The envelope of postings packed as `frequency << 8 | normID` (corners of other
    /// envelopes may be among them: the result dominates theirs too).
    init(points: [UInt64]) {
        self.init(count: points.count) { points[$0] }
    }

    /// The envelope of `count` packed points read through `point`. Linear: the largest
    /// frequency per norm id, then one sweep from the shortest norm keeps the frontier (points
    /// more frequent than every shorter one). This runs for every block the writer seals.
    init(count: Int, point: (Int) -> UInt64) {
        if count == 0 {
            self.init(frequencies: .zero, normIDs: SIMD4(repeating: 255))
            return
        }
        if count <= ScoreEnvelope.corners {
            // As many postings as corners (most blocks of most terms): the postings themselves
            // are the corners, an exact bound.
            var frequencies = SIMD4<UInt32>.zero
            var normIDs = SIMD4<UInt8>.zero
            for r in 0..<ScoreEnvelope.corners {
                let p = point(min(r, count - 1))
                frequencies[r] = min(UInt32(truncatingIfNeeded: p >> 8), (1 << 24) - 1)
                normIDs[r] = UInt8(truncatingIfNeeded: p)
            }
            self.init(frequencies: frequencies, normIDs: normIDs)
            return
        }
        var frequencies = SIMD4<UInt32>.zero
        var normIDs = SIMD4<UInt8>(repeating: 255)
        withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 512) { scratch in
            let best = UnsafeMutableBufferPointer(rebasing: scratch[0..<256])
            var lowest = 255, highest = 0
            for i in 0..<count {
                let n = Int(point(i) & 0xFF)
                lowest = min(lowest, n)
                highest = max(highest, n)
            }
            // Only the norm range the block uses is cleared (blocks span a few norm ids).
            UnsafeMutableBufferPointer(rebasing: best[lowest...highest]).initialize(repeating: 0)
            for i in 0..<count {
                let p = point(i)
                let n = Int(p & 0xFF), f = UInt32(truncatingIfNeeded: p >> 8)
                if f > best[n] { best[n] = f }
            }
            // The frontier, packed `frequency << 8 | normID` into the other half of the scratch
            // (frequencies are below 2^24, as `PendingPostings` caps them).
            var frontier = 0
            var top: UInt32 = 0
            for n in lowest...highest where best[n] > top {
                top = best[n]
                scratch[256 + frontier] = min(top, (1 << 24) - 1) << 8 | UInt32(n)
                frontier += 1
            }
            if frontier == 0 {
                // Only zero frequencies (never written, but bounded all the same).
                scratch[256] = UInt32(lowest)
                frontier = 1
            }
            // Consecutive runs of the frontier each become one corner: the run's largest
            // frequency (its last) with its smallest norm (its first).
            let runs = min(ScoreEnvelope.corners, frontier)
            for r in 0..<ScoreEnvelope.corners {
                let run = min(r, runs - 1)
                let start = run * frontier / runs, end = (run + 1) * frontier / runs
                frequencies[r] = scratch[256 + end - 1] >> 8
                normIDs[r] = UInt8(truncatingIfNeeded: scratch[256 + start])
            }
        }
        self.init(frequencies: frequencies, normIDs: normIDs)
    }

    /// The corners packed as `init(points:)` takes them.
    var points: [UInt64] {
        (0..<ScoreEnvelope.corners).map { UInt64(frequencies[$0]) << 8 | UInt64(normIDs[$0]) }
    }

    /// The best score any posting under the envelope can have.
    @inline(__always)
    func bound(_ bm25: Bm25) -> Float {
        max(max(bm25.score(frequency: frequencies[0], normID: normIDs[0]), bm25.score(frequency: frequencies[1], normID: normIDs[1])),
            max(bm25.score(frequency: frequencies[2], normID: normIDs[2]), bm25.score(frequency: frequencies[3], normID: normIDs[3])))
    }

    func encode(into out: inout [UInt8]) {
        for i in 0..<ScoreEnvelope.corners {
            let f = frequencies[i] >= UInt32(ScoreEnvelope.saturated) ? ScoreEnvelope.saturated : UInt16(frequencies[i])
            out.append(normIDs[i])
            out.append(UInt8(f >> 8))
            out.append(UInt8(f & 0xFF))
        }
    }

    /// Reads an envelope `encode` wrote at `offset` (the caller checked the length).
    @inline(__always)
    static func decode(_ bytes: UnsafeRawBufferPointer, at offset: Int) -> ScoreEnvelope {
        var frequencies = SIMD4<UInt32>.zero
        var normIDs = SIMD4<UInt8>.zero
        for i in 0..<corners {
            let o = offset + 3 * i
            let f = UInt16(bytes[o + 1]) << 8 | UInt16(bytes[o + 2])
            normIDs[i] = bytes[o]
            frequencies[i] = f == saturated ? .max : UInt32(f)
        }
        return ScoreEnvelope(frequencies: frequencies, normIDs: normIDs)
    }
}
