@testable import PrismSearch
import PrismStorage
import Testing

@Suite("Vector distance kernels")
struct VectorDistanceTests {
    /// The SIMD kernels against plain loops, for lengths around every block size, on unaligned
    /// bytes (stored vectors sit at arbitrary offsets in LMDB pages).
    @Test(arguments: [1, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 47, 48, 128, 130])
    func kernelsMatchPlainLoops(dimension: Int) {
        var rng = SplitMix64(seed: UInt64(dimension))
        let a = (0..<dimension).map { _ in Float.random(in: -2...2, using: &rng) }
        let b = (0..<dimension).map { _ in Float.random(in: -2...2, using: &rng) }
        let l2 = zip(a, b).reduce(Float(0)) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }
        let dot = zip(a, b).reduce(Float(0)) { $0 + $1.0 * $1.1 }
        for offset in [0, 1, 3] {
            var bytesA = [UInt8](repeating: 0, count: offset), bytesB = [UInt8](repeating: 0, count: offset)
            bytesA += VectorDistance.bytes(a)
            bytesB += VectorDistance.bytes(b)
            bytesA.withUnsafeBytes { ra in
                bytesB.withUnsafeBytes { rb in
                    let x = UnsafeRawBufferPointer(rebasing: ra[offset...]), y = UnsafeRawBufferPointer(rebasing: rb[offset...])
                    let tolerance = 1e-4 * Float(dimension)
                    #expect(abs(VectorDistance.distance(.euclidean, x, y) - l2) <= tolerance, "l2 dim \(dimension) offset \(offset)")
                    #expect(abs(VectorDistance.distance(.dot, x, y) + dot) <= tolerance, "dot dim \(dimension) offset \(offset)")
                    #expect(abs(VectorDistance.distance(.cosine, x, y) + dot) <= tolerance, "cosine dim \(dimension) offset \(offset)")
                    for kernel in VectorDistance.kernels {
                        #expect(abs(VectorDistance.distance(.euclidean, x, y, kernel: kernel.id) - l2) <= tolerance, "\(kernel.name) l2 dim \(dimension) offset \(offset)")
                        #expect(abs(VectorDistance.distance(.dot, x, y, kernel: kernel.id) + dot) <= tolerance, "\(kernel.name) dot dim \(dimension) offset \(offset)")
                    }
                }
            }
        }
    }
}
