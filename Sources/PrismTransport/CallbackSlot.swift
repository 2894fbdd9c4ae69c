import Synchronization

/// A callback set after a channel is bound (where a socket's datagrams or a server's requests go),
/// read by its channel handler on each input.
final class CallbackSlot<Callback: Sendable>: Sendable {
    private let callback = Mutex<Callback?>(nil)
    func set(_ c: Callback?) { callback.withLock { $0 = c } }
    func get() -> Callback? { callback.withLock { $0 } }
}
