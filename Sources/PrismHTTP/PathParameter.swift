import Foundation
import Hummingbird

extension Parameters {
    /// A path parameter, percent-decoded (Hummingbird hands them over raw), so a document id such
    /// as `a b/c` is addressed as `/documents/a%20b%2Fc`.
    func decoded(_ name: String) throws -> String {
        let raw = try require(name)
        guard let value = raw.removingPercentEncoding else {
            throw APIError(.badRequest, "path parameter \(name): '\(raw)' is not valid percent-encoding")
        }
        return value
    }
}
