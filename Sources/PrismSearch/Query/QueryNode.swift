/// A parsed query. Text is kept as written; each field's analyzer turns it into terms when the
/// query runs, so one query can span fields with different analyzers.
public indirect enum QueryNode: Sendable, Equatable {
    /// A word, in one field or (nil) in the default fields.
    case term(field: String?, text: String)
    /// Words that must appear in order, adjacent.
    case phrase(field: String?, text: String)
    /// `field:[a TO b]`, `{a TO b}`, mixed brackets, `*` for an open end.
    case range(field: String, lower: String?, upper: String?, includeLower: Bool, includeUpper: Bool)
    /// `field:*`: the field has a value.
    case exists(field: String)
    /// Every document (`*`, or an empty query).
    case all
    /// All of `must` match, none of `mustNot`; when `must` is empty at least one of `should`.
    /// The score is the sum of the matching scoring clauses.
    case boolean(must: [QueryNode], should: [QueryNode], mustNot: [QueryNode])
    case boost(QueryNode, Float)
}
