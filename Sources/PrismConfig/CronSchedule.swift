/// A 5-field cron expression: minute, hour, day of month, month, day of week. Each field takes
/// `*`, numbers, names (JAN..DEC, SUN..SAT), ranges `a-b`, lists `a,b`, and steps `*/n`, `a-b/n`,
/// `a/n`. Day of week 0 and 7 are both Sunday. As in Vixie cron, when both day fields are
/// restricted a time matches if either does.
public struct CronSchedule: Sendable, Equatable {
    public let minutes: Set<Int>
    public let hours: Set<Int>
    public let daysOfMonth: Set<Int>
    public let months: Set<Int>
    public let daysOfWeek: Set<Int>
    let dayOfMonthRestricted: Bool
    let dayOfWeekRestricted: Bool

    public struct ParseError: Error, Sendable, Equatable {
        public let message: String
    }

    private struct Field {
        let name: String
        let range: ClosedRange<Int>
        let names: [String: Int]
    }

    private static let monthNames = ["JAN": 1, "FEB": 2, "MAR": 3, "APR": 4, "MAY": 5, "JUN": 6,
                                     "JUL": 7, "AUG": 8, "SEP": 9, "OCT": 10, "NOV": 11, "DEC": 12]
    private static let dayNames = ["SUN": 0, "MON": 1, "TUE": 2, "WED": 3, "THU": 4, "FRI": 5, "SAT": 6]
    private static let fields = [
        Field(name: "minute", range: 0...59, names: [:]),
        Field(name: "hour", range: 0...23, names: [:]),
        Field(name: "day-of-month", range: 1...31, names: [:]),
        Field(name: "month", range: 1...12, names: monthNames),
        Field(name: "day-of-week", range: 0...7, names: dayNames),
    ]

    public static func parse(_ text: String) -> Result<CronSchedule, ParseError> {
        let parts = text.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        guard parts.count == 5 else {
            return .failure(ParseError(message: "expected 5 fields, found \(parts.count)"))
        }
        var sets: [Set<Int>] = []
        for (part, field) in zip(parts, fields) {
            switch parseField(part, field) {
            case .success(let set): sets.append(set)
            case .failure(let error): return .failure(error)
            }
        }
        var weekdays = sets[4]
        if weekdays.contains(7) { weekdays.remove(7); weekdays.insert(0) }
        return .success(CronSchedule(
            minutes: sets[0], hours: sets[1], daysOfMonth: sets[2], months: sets[3], daysOfWeek: weekdays,
            dayOfMonthRestricted: parts[2] != "*", dayOfWeekRestricted: parts[4] != "*"))
    }

    private static func parseField(_ text: String, _ field: Field) -> Result<Set<Int>, ParseError> {
        var result = Set<Int>()
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            guard !item.isEmpty else { return .failure(ParseError(message: "empty list element in \(field.name) field \"\(text)\"")) }
            var base = Substring(item)
            var step = 1
            if let slash = item.firstIndex(of: "/") {
                base = item[..<slash]
                guard let s = Int(item[item.index(after: slash)...]), s > 0 else {
                    return .failure(ParseError(message: "bad step in \(field.name) field \"\(item)\""))
                }
                step = s
            }
            let lower: Int
            let upper: Int
            if base == "*" {
                lower = field.range.lowerBound
                upper = field.range.upperBound
            } else if let dash = base.firstIndex(of: "-") {
                guard let a = value(base[..<dash], field), let b = value(base[base.index(after: dash)...], field) else {
                    return .failure(ParseError(message: "bad range in \(field.name) field \"\(item)\" (allowed \(field.range.lowerBound)-\(field.range.upperBound)\(field.names.isEmpty ? "" : " or names"))"))
                }
                guard a <= b else { return .failure(ParseError(message: "range \(item) in \(field.name) field runs backwards")) }
                lower = a
                upper = b
            } else {
                guard let a = value(base, field) else {
                    return .failure(ParseError(message: "bad value \"\(base)\" in \(field.name) field (allowed \(field.range.lowerBound)-\(field.range.upperBound)\(field.names.isEmpty ? "" : " or names"))"))
                }
                lower = a
                // `a/n` means from a to the end of the field.
                upper = item.contains("/") ? field.range.upperBound : a
            }
            result.formUnion(stride(from: lower, through: upper, by: step))
        }
        return .success(result)
    }

    private static func value(_ text: Substring, _ field: Field) -> Int? {
        if let n = Int(text) { return field.range.contains(n) ? n : nil }
        return field.names[text.uppercased()]
    }

    /// Whether the schedule covers the given minute. `weekday` is 0 (Sunday) ... 6.
    public func matches(minute: Int, hour: Int, dayOfMonth: Int, month: Int, weekday: Int) -> Bool {
        guard minutes.contains(minute), hours.contains(hour), months.contains(month) else { return false }
        let dom = daysOfMonth.contains(dayOfMonth)
        let dow = daysOfWeek.contains(weekday)
        if dayOfMonthRestricted && dayOfWeekRestricted { return dom || dow }
        return dom && dow
    }
}
