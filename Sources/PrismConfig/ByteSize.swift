/// Human sizes: "100MB" (SI: 1000-based), "100MiB" (1024-based), "512" (bytes). Case-insensitive
/// units; a space between number and unit is allowed; fractions allowed ("1.5GB").
public enum ByteSize {
    static let units: [(String, Double)] = [
        ("kib", 1024), ("mib", 1024 * 1024), ("gib", 1024 * 1024 * 1024), ("tib", 1024 * 1024 * 1024 * 1024),
        ("kb", 1e3), ("mb", 1e6), ("gb", 1e9), ("tb", 1e12),
        ("k", 1e3), ("m", 1e6), ("g", 1e9), ("t", 1e12), ("b", 1),
    ]

    public static func parse(_ text: String) -> Int64? {
        let s = text.trimmingSpaces.lowercased()
        guard !s.isEmpty else { return nil }
        var number = Substring(s)
        var multiplier = 1.0
        for (unit, factor) in units where s.hasSuffix(unit) {
            number = s.dropLast(unit.count)
            multiplier = factor
            break
        }
        let digits = String(number).trimmingSpaces
        guard !digits.isEmpty, digits.allSatisfy({ $0.isNumber || $0 == "." }),
              let value = Double(digits), value >= 0 else { return nil }
        let bytes = value * multiplier
        guard bytes < 9.2e18 else { return nil }
        return Int64(bytes.rounded())
    }

    public static func format(_ bytes: Int64) -> String {
        let steps: [(String, Int64)] = [("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)]
        for (unit, size) in steps where bytes >= size && bytes % size == 0 {
            return "\(bytes / size)\(unit)"
        }
        let si: [(String, Int64)] = [("TB", 1_000_000_000_000), ("GB", 1_000_000_000), ("MB", 1_000_000), ("KB", 1000)]
        for (unit, size) in si where bytes >= size && bytes % size == 0 {
            return "\(bytes / size)\(unit)"
        }
        return "\(bytes)B"
    }
}

/// Durations: "250ms", "5s", "2m", "1h", or a bare number of milliseconds.
public enum Duration {
    public static func parseMillis(_ text: String) -> Int64? {
        let s = text.trimmingSpaces.lowercased()
        let units: [(String, Double)] = [("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000)]
        for (unit, factor) in units where s.hasSuffix(unit) {
            let digits = String(s.dropLast(unit.count)).trimmingSpaces
            guard !digits.isEmpty, digits.allSatisfy({ $0.isNumber || $0 == "." }), let v = Double(digits) else { return nil }
            return Int64((v * factor).rounded())
        }
        guard !s.isEmpty, s.allSatisfy(\.isNumber) else { return nil }
        return Int64(s)
    }
}
