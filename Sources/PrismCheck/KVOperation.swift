/// One client operation on a key-value store as a history records it: when it was called and
/// when it returned (microseconds), what it asked and what it got.
public struct KVOperation: Hashable, Sendable {
    public enum Kind: String, Sendable, Hashable { case put, get, cas }
    /// `unknown`: the client gave up (a timeout): the operation may or may not have taken effect.
    public enum Result: String, Sendable, Hashable { case ok, fail, unknown }

    public var client: Int
    public var key: String
    public var kind: Kind
    /// put: the value written; cas: the new value.
    public var value: String?
    /// cas: the value it expects to replace.
    public var expected: String?
    public var call: UInt64
    /// Ignored when `result` is unknown (the operation may take effect any time after its call).
    public var returned: UInt64
    public var result: Result
    /// get: the value read (nil: the key was absent).
    public var output: String?

    public init(client: Int, key: String, kind: Kind, value: String? = nil, expected: String? = nil, call: UInt64, returned: UInt64,
                result: Result, output: String? = nil) {
        self.client = client
        self.key = key
        self.kind = kind
        self.value = value
        self.expected = expected
        self.call = call
        self.returned = returned
        self.result = result
        self.output = output
    }
}
