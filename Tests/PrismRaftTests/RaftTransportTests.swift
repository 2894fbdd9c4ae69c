import Foundation
import NIOCore
import PrismRaft
import PrismTransport
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Real TCP on loopback between transports, and strangers that send garbage.
@Suite("Raft transport", .serialized)
struct RaftTransportTests {
    final class Inbox: Sendable {
        let batches = Mutex<[(String, HostBatch)]>([])
        func add(_ from: String, _ batch: HostBatch) { batches.withLock { $0.append((from, batch)) } }
        var count: Int { batches.withLock { $0.count } }
        var all: [(String, HostBatch)] { batches.withLock { $0 } }
    }

    static func batch(_ n: UInt64) -> HostBatch {
        HostBatch(messages: [GroupMessage(group: n, message: .append(term: 2, prevIndex: n, prevTerm: 1,
                                                                     entries: [LogEntry(term: 2, index: n + 1, data: Array("entry \(n)".utf8))], commit: n))],
                  heartbeats: [CoalescedHeartbeat(group: 7, term: 2, commit: n)])
    }

    func eventually(_ what: String, timeout: Double = 10, _ condition: () async -> Bool) async throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if await condition() { return }
            try await Task.sleep(for: .milliseconds(10))
        }
        if await condition() { return }
        Issue.record("not within \(timeout) s: \(what)")
    }

    /// Connects, writes `bytes`, and waits until the server closes the connection (true) or 5 s pass.
    static func closedAfterSending(_ bytes: [UInt8], port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        inet_pton(AF_INET, "127.0.0.1", &address.sin_addr)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { return false }
        _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        // Whatever the server answers first (a TLS alert) is read past, up to the end.
        var buffer = [UInt8](repeating: 0, count: 512)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { return n == 0 }
        }
    }

    static func framed(_ payload: [UInt8]) -> [UInt8] {
        withUnsafeBytes(of: UInt32(payload.count).bigEndian) { Array($0) } + payload
    }

    @Test("batches arrive whole, in order, both ways, over one connection per peer")
    func delivers() async throws {
        let inbox1 = Inbox(), inbox2 = Inbox()
        let t1 = try await RaftTransport.start(node: "n1", host: "127.0.0.1", port: 0) { inbox1.add($0, $1) }
        let t2 = try await RaftTransport.start(node: "n2", host: "127.0.0.1", port: 0) { inbox2.add($0, $1) }
        t1.setAddress(t2.localAddress, of: "n2")
        t2.setAddress(t1.localAddress, of: "n1")
        for n in UInt64(1)...50 { t1.send(Self.batch(n), to: "n2") }
        t2.send(Self.batch(99), to: "n1")
        try await eventually("50 batches at n2") { inbox2.count == 50 }
        try await eventually("1 batch at n1") { inbox1.count == 1 }
        #expect(inbox2.all.map(\.0).allSatisfy { $0 == "n1" })
        #expect(inbox2.all.map(\.1) == (UInt64(1)...50).map(Self.batch))
        #expect(inbox1.all.first?.1 == Self.batch(99))
        #expect(t1.statistics.connections == 1 && t1.statistics.framesSent == 50)
        t1.send(Self.batch(1), to: "nobody")
        try await eventually("a batch for an unknown peer is counted") { t1.statistics.dropped("unknown_peer") == 1 }
        await t1.close()
        await t2.close()
    }

    @Test("garbage, a batch before the hello, an incompatible hello and an oversized frame each close their connection and are counted")
    func strangers() async throws {
        let inbox = Inbox()
        var settings = RaftTransport.Settings()
        settings.maxFrameSize = 1 << 16
        let t2 = try await RaftTransport.start(node: "n2", host: "127.0.0.1", port: 0, settings: settings) { inbox.add($0, $1) }
        let port = t2.port
        #expect(Self.closedAfterSending(Self.framed([RaftWire.version, 0x42, 0x42]), port: port))
        #expect(Self.closedAfterSending(Self.framed(RaftWire.encode(.batch(Self.batch(1)))), port: port))
        #expect(Self.closedAfterSending(Self.framed(RaftWire.encode(.hello(node: "future", protocolVersion: 9, minimumSupported: 5))), port: port))
        #expect(Self.closedAfterSending(withUnsafeBytes(of: UInt32(1 << 20).bigEndian) { Array($0) }, port: port))
        #expect(Self.closedAfterSending(Self.framed(RaftWire.encode(.hello(node: "x", protocolVersion: 1, minimumSupported: 1)) + [1]), port: port))
        try await eventually("every refusal counted: \(t2.statistics.drops)") {
            t2.statistics.dropped("malformed") == 2 && t2.statistics.dropped("no_hello") == 1 && t2.statistics.dropped("version") == 1
                && t2.statistics.dropped("too_large") == 1
        }
        #expect(inbox.count == 0)
        // And a proper peer still gets through.
        let t1 = try await RaftTransport.start(node: "n1", host: "127.0.0.1", port: 0) { _, _ in }
        t1.setAddress(t2.localAddress, of: "n2")
        t1.send(Self.batch(5), to: "n2")
        try await eventually("the real peer's batch arrives") { inbox.count == 1 }
        await t1.close()
        await t2.close()
    }

    @Test("a peer that goes away is retried with backoff, and reached again when it is back")
    func reconnects() async throws {
        let inbox = Inbox()
        var t2 = try await RaftTransport.start(node: "n2", host: "127.0.0.1", port: 0) { inbox.add($0, $1) }
        let address = t2.localAddress, port = t2.port
        var settings = RaftTransport.Settings()
        settings.minimumBackoff = .milliseconds(20)
        settings.maximumBackoff = .milliseconds(200)
        let t1 = try await RaftTransport.start(node: "n1", host: "127.0.0.1", port: 0, settings: settings) { _, _ in }
        t1.setAddress(address, of: "n2")
        t1.send(Self.batch(1), to: "n2")
        try await eventually("first batch") { inbox.count == 1 }
        await t2.close()
        try await eventually("the connection is seen closed") { await !t1.isConnected(to: "n2") }
        t1.send(Self.batch(2), to: "n2")
        try await eventually("connecting to a closed port fails, and is retried") { t1.statistics.connectFailures >= 2 }
        t2 = try await RaftTransport.start(node: "n2", host: "127.0.0.1", port: port) { inbox.add($0, $1) }
        try await eventually("the queued batch arrives once the peer is back") { inbox.count == 2 }
        #expect(inbox.all.last?.1 == Self.batch(2))
        await t1.close()
        await t2.close()
    }
}
