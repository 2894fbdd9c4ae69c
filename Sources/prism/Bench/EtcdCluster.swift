import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// A 3-member etcd (Debian's `etcd-server`) on loopback, for `prism bench raft --vs-etcd`: the
/// same load through its JSON gateway (`/v3/kv/put`, linearizable `/v3/kv/range`), sent to the
/// leader as Prism's is.
final class EtcdCluster: @unchecked Sendable {
    let processes: [Process]
    let clientPorts: [Int]
    let directory: String

    static var installed: Bool { FileManager.default.isExecutableFile(atPath: "/usr/bin/etcd") }

    init(members: Int, directory: String) throws {
        self.directory = directory
        let names = (1...members).map { "e\($0)" }
        let peerPorts = try names.map { _ in try RaftBench.freePort() }
        clientPorts = try names.map { _ in try RaftBench.freePort() }
        let cluster = zip(names, peerPorts).map { "\($0)=http://127.0.0.1:\($1)" }.joined(separator: ",")
        var started: [Process] = []
        for (i, name) in names.enumerated() {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/etcd")
            p.arguments = ["--name", name, "--data-dir", "\(directory)/\(name)",
                           "--listen-client-urls", "http://127.0.0.1:\(clientPorts[i])", "--advertise-client-urls", "http://127.0.0.1:\(clientPorts[i])",
                           "--listen-peer-urls", "http://127.0.0.1:\(peerPorts[i])", "--initial-advertise-peer-urls", "http://127.0.0.1:\(peerPorts[i])",
                           "--initial-cluster", cluster, "--initial-cluster-state", "new", "--initial-cluster-token", "prism-bench",
                           "--log-level", "error"]
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            started.append(p)
        }
        processes = started
    }

    /// The client port of the member that leads, once there is one.
    func leaderPort(group: EventLoopGroup) async throws -> Int {
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            for port in clientPorts {
                guard let connection = try? await HTTPJSONConnection.connect(port: port, group: group) else { continue }
                defer { connection.close() }
                guard let status = try? await connection.post("/v3/maintenance/status", "{}"),
                      let object = (try? JSONSerialization.jsonObject(with: Data(status.utf8))) as? [String: Any],
                      let leader = object["leader"] as? String, let header = object["header"] as? [String: Any],
                      let member = header["member_id"] as? String else { continue }
                if leader == member { return port }
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw TransportErrorText("etcd elected no leader within 30 s")
    }

    var cpuMicroseconds: Double { processes.reduce(0) { $0 + NodeProcess.cpuMicroseconds(pid: $1.processIdentifier) } }

    func stop() {
        for p in processes where p.isRunning { p.terminate() }
        for p in processes { p.waitUntilExit() }
        try? FileManager.default.removeItem(atPath: directory)
    }
}

struct TransportErrorText: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

/// One keep-alive HTTP/1.1 connection, one request at a time.
final class HTTPJSONConnection: Sendable {
    let channel: Channel
    let port: Int
    private let waiting: NIOLoopBoundBox<EventLoopPromise<String>?>

    private init(channel: Channel, port: Int, waiting: NIOLoopBoundBox<EventLoopPromise<String>?>) {
        self.channel = channel
        self.port = port
        self.waiting = waiting
    }

    static func connect(port: Int, group: EventLoopGroup) async throws -> HTTPJSONConnection {
        let loop = group.next()
        let waiting = NIOLoopBoundBox<EventLoopPromise<String>?>.makeBoxSendingValue(nil, eventLoop: loop)
        let channel = try await ClientBootstrap(group: loop)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(HTTPJSONHandler(waiting: waiting))
                }
            }
            .connect(host: "127.0.0.1", port: port).get()
        return HTTPJSONConnection(channel: channel, port: port, waiting: waiting)
    }

    func post(_ path: String, _ body: String) async throws -> String {
        let promise = channel.eventLoop.makePromise(of: String.self)
        let port = self.port
        channel.eventLoop.execute { [self] in
            waiting.value = promise
            var head = HTTPRequestHead(version: .http1_1, method: .POST, uri: path)
            head.headers.add(name: "Host", value: "127.0.0.1:\(port)")
            head.headers.add(name: "Content-Type", value: "application/json")
            head.headers.add(name: "Content-Length", value: "\(body.utf8.count)")
            channel.write(HTTPClientRequestPart.head(head), promise: nil)
            channel.write(HTTPClientRequestPart.body(.byteBuffer(channel.allocator.buffer(string: body))), promise: nil)
            channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
        }
        return try await promise.futureResult.get()
    }

    func close() { channel.close(promise: nil) }
}

private final class HTTPJSONHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart
    let waiting: NIOLoopBoundBox<EventLoopPromise<String>?>
    private var body = ""
    private var status = 0

    init(waiting: NIOLoopBoundBox<EventLoopPromise<String>?>) { self.waiting = waiting }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            status = Int(head.status.code)
            body = ""
        case .body(let buffer):
            body += String(buffer: buffer)
        case .end:
            let promise = waiting.value
            waiting.value = nil
            if status == 200 { promise?.succeed(body) } else { promise?.fail(TransportErrorText("HTTP \(status): \(body)")) }
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        waiting.value?.fail(TransportErrorText("connection closed"))
        waiting.value = nil
        context.fireChannelInactive()
    }
}
