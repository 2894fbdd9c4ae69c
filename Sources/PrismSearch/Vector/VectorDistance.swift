import CVectorKernels

/// Distances between stored vectors (raw little-endian Float32, possibly unaligned in LMDB pages)
/// and a query. Cosine vectors are normalized when stored and queried, so cosine is a dot product.
enum VectorDistance {
    /// Smaller is closer, for every metric.
    @inline(__always)
    static func distance(_ metric: CollectionSchema.Distance, _ a: UnsafeRawBufferPointer, _ q: UnsafeBufferPointer<Float>) -> Float {
        // A query is laid out like a stored vector (Float32, little-endian host), so one loop serves both.
        distance(metric, a, UnsafeRawBufferPointer(q))
    }

    /// Distance between two stored vectors (C kernels: AVX-512 or AVX2 + FMA when the CPU has them).
    @inline(__always)
    static func distance(_ metric: CollectionSchema.Distance, _ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Float {
        guard let x = a.baseAddress, let y = b.baseAddress else { return metric == .euclidean ? 0 : -0 }
        let n = min(a.count, b.count) / 4
        switch metric {
        case .euclidean: return prism_l2_squared(x, y, n)
        case .cosine, .dot: return -prism_dot(x, y, n)
        }
    }

    /// The kernels this CPU runs, slowest first; the last is the one in use.
    static var kernels: [(id: Int32, name: String)] {
        let all: [(Int32, String)] = [(Int32(PRISM_KERNEL_PORTABLE), "sse"), (Int32(PRISM_KERNEL_AVX2), "avx2"), (Int32(PRISM_KERNEL_AVX512), "avx512")]
        return all.filter { $0.0 <= prism_vector_kernel() }
    }

    /// `distance` through one kernel (tests hold each against plain loops).
    static func distance(_ metric: CollectionSchema.Distance, _ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer, kernel: Int32) -> Float {
        guard let x = a.baseAddress, let y = b.baseAddress else { return 0 }
        let n = min(a.count, b.count) / 4
        switch metric {
        case .euclidean: return prism_l2_squared_kernel(kernel, x, y, n)
        case .cosine, .dot: return -prism_dot_kernel(kernel, x, y, n)
        }
    }

    /// The API score (higher is better): cosine similarity, dot product, or 1 / (1 + euclidean).
    static func score(_ metric: CollectionSchema.Distance, distance: Float) -> Float {
        switch metric {
        case .euclidean: return 1 / (1 + distance.squareRoot())
        case .cosine, .dot: return -distance
        }
    }

    /// Unit length for cosine (a zero vector stays zero).
    static func prepared(_ v: [Float], _ metric: CollectionSchema.Distance) -> [Float] {
        guard metric == .cosine else { return v }
        var norm: Float = 0
        for x in v { norm += x * x }
        norm = norm.squareRoot()
        return norm > 0 ? v.map { $0 / norm } : v
    }

    static func bytes(_ v: [Float]) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(v.count * 4)
        for f in v { withUnsafeBytes(of: f.bitPattern.littleEndian) { out += $0 } }
        return out
    }
}

/// The distance kernel this process uses, for benchmark reports.
public enum DistanceKernel {
    public static var inUse: String { VectorDistance.kernels.last?.name ?? "sse" }
}
