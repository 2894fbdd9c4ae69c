import Foundation
import PrismTestSupport
import Testing

/// DNS discovery against a real DNS server: dnsmasq inside a network namespace of its own, so no
/// query leaves the machine; `ip netns exec` gives the namespace its own resolv.conf. Agents find
/// each other through SRV records (host and port per member) and through A records (every address
/// a seed on the gossip port).
@Suite("DNS discovery", .serialized, .enabled(if: DNSNamespace.available, "needs root, iproute2 and dnsmasq (apt-get install iproute2 dnsmasq-base)"))
struct DNSDiscoveryTests {
    static func agent(_ id: String, bind: String, dnsName: String, in ns: DNSNamespace) -> PrismProcess {
        PrismProcess(arguments: ["agent", "--node-id", id, "--gossip", bind, "--events", "--log-level", "debug"],
                     environment: GossipProcessTests.fast.merging([
                         "PRISM_FEDERATION_DISCOVERY_BACKEND": "dns", "PRISM_FEDERATION_DISCOVERY_DNS_NAME": dnsName,
                         "PRISM_FEDERATION_DISCOVERY_DNS_REFRESH_INTERVAL_SECS": "1",
                     ]) { $1 },
                     launcher: ns.launcher)
    }

    @Test func agentsFindEachOtherThroughSRVAndARecords() async throws {
        let ns = try await DNSNamespace.start(records: [
            "--srv-host=_prism._udp.mesh.test,a.mesh.test,7001", "--srv-host=_prism._udp.mesh.test,b.mesh.test,7002",
            "--host-record=a.mesh.test,127.0.0.1", "--host-record=b.mesh.test,127.0.0.1",
            "--host-record=hosts.mesh.test,127.0.0.2", "--host-record=hosts.mesh.test,127.0.0.3",
        ])

        // SRV: a and b are listed with their ports; c is not in DNS and joins through them.
        let a = Self.agent("a", bind: "127.0.0.1:7001", dnsName: "_prism._udp.mesh.test", in: ns)
        try await a.startAgent()
        let resolved = await GossipProcessTests.eventually(10) { a.standardError.contains("DNS discovery resolved") }
        #expect(resolved && a.standardError.contains("127.0.0.1:7001") && a.standardError.contains("127.0.0.1:7002"),
                "both SRV targets with their ports:\n\(a.standardError)")
        let b = Self.agent("b", bind: "127.0.0.1:7002", dnsName: "_prism._udp.mesh.test", in: ns)
        let c = Self.agent("c", bind: "127.0.0.1:7003", dnsName: "_prism._udp.mesh.test", in: ns)
        try await b.startAgent()
        try await c.startAgent()
        let meshed = await GossipProcessTests.eventually {
            GossipProcessTests.saw(a, "b", "alive") && GossipProcessTests.saw(a, "c", "alive") && GossipProcessTests.saw(c, "b", "alive")
        }
        #expect(meshed, "SRV discovery:\n\(a.standardOutput)\n\(c.standardOutput)\n\(c.standardError)")

        // A records: both addresses are seeds on the (shared) gossip port.
        let d = Self.agent("d", bind: "127.0.0.2:7946", dnsName: "hosts.mesh.test", in: ns)
        let e = Self.agent("e", bind: "127.0.0.3:7946", dnsName: "hosts.mesh.test", in: ns)
        try await d.startAgent()
        try await e.startAgent()
        let paired = await GossipProcessTests.eventually { GossipProcessTests.saw(d, "e", "alive") && GossipProcessTests.saw(e, "d", "alive") }
        #expect(paired, "A-record discovery:\n\(d.standardOutput)\n\(d.standardError)")
        for p in [a, b, c, d, e] { p.signal(SIGKILL) }
        await ns.close()
    }

    @Test func aNameWithNoRecordsIsLoggedAndRetried() async throws {
        let ns = try await DNSNamespace.start(records: [])
        let lonely = Self.agent("lonely", bind: "127.0.0.1:7001", dnsName: "nobody.mesh.test", in: ns)
        try await lonely.startAgent()
        // Resolved at start and again every second (the refresh interval), warning each time.
        let retried = await GossipProcessTests.eventually(10) {
            lonely.standardError.components(separatedBy: "DNS discovery found no peers").count > 2
        }
        #expect(retried, "an empty name is reported at each refresh:\n\(lonely.standardError)")
        lonely.signal(SIGTERM)
        #expect(await lonely.waitForExit() == 0, "an agent with no peers still runs and stops cleanly")
        await ns.close()
    }
}

/// A network namespace with loopback up, its own resolv.conf, and dnsmasq answering on 127.0.0.1.
final class DNSNamespace: @unchecked Sendable {
    let name: String
    /// dnsmasq closes every inherited descriptor at startup, which Foundation's Process takes for
    /// an exit (its monitor thread then blocks in waitpid for good): it is spawned directly.
    private var dnsmasq: pid_t = 0

    /// Root, dnsmasq, and a kernel that lets this process make namespaces (tried once).
    static let available: Bool = {
        guard getuid() == 0, FileManager.default.isExecutableFile(atPath: "/usr/sbin/dnsmasq") else { return false }
        let probe = "prism-dns-probe-\(getpid())"
        guard (try? spawnAndWait(["ip", "netns", "add", probe])) == 0 else { return false }
        _ = try? spawnAndWait(["ip", "netns", "del", probe])
        return true
    }()

    static func spawnAndWait(_ command: [String]) throws -> Int32 {
        let pid = try spawn(command)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        return (status & 0x7F) == 0 ? (status >> 8) & 0xFF : -1
    }

    var launcher: [String] { ["ip", "netns", "exec", name] }

    private init(name: String) { self.name = name }

    static func start(records: [String]) async throws -> DNSNamespace {
        let ns = DNSNamespace(name: "prism-dns-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try await run(["ip", "netns", "add", ns.name])
        try FileManager.default.createDirectory(atPath: "/etc/netns/\(ns.name)", withIntermediateDirectories: true)
        try "nameserver 127.0.0.1\n".write(toFile: "/etc/netns/\(ns.name)/resolv.conf", atomically: true, encoding: .utf8)
        try await run(ns.launcher + ["ip", "link", "set", "lo", "up"])
        ns.dnsmasq = try spawn(ns.launcher + ["dnsmasq", "--keep-in-foreground", "--no-resolv", "--no-hosts", "--no-poll",
                                              "--listen-address=127.0.0.1", "--bind-interfaces", "--port=53", "--user=root",
                                              "--pid-file=", "--log-facility=/dev/null"] + records)
        // Ready when it answers at all: "not found" (2) comes from the server, not from silence.
        for _ in 0..<100 {
            if try await run(ns.launcher + ["getent", "hosts", "probe.mesh.test"], allowFailure: true) == 2 { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        return ns
    }

    func close() async {
        if dnsmasq > 0 {
            kill(dnsmasq, SIGKILL)
            var status: Int32 = 0
            waitpid(dnsmasq, &status, 0)
        }
        _ = try? await Self.run(["ip", "netns", "del", name])
        try? FileManager.default.removeItem(atPath: "/etc/netns/\(name)")
    }

    static func spawn(_ command: [String]) throws -> pid_t {
        var pid: pid_t = 0
        var argv: [UnsafeMutablePointer<CChar>?] = command.map { strdup($0) } + [nil]
        defer { for p in argv { free(p) } }
        // The spawning thread may block signals (dispatch's threads do); the child must not.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK))
        let status = posix_spawnp(&pid, command[0], nil, &attributes, &argv, environ)
        guard status == 0 else { throw HTTPClient.Failure(description: "cannot start \(command[0]): error \(status)") }
        return pid
    }

    @discardableResult
    static func run(_ command: [String], allowFailure: Bool = false) async throws -> Int32 {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = command
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        while p.isRunning { try await Task.sleep(for: .milliseconds(5)) }
        if p.terminationStatus != 0 && !allowFailure {
            throw HTTPClient.Failure(description: "\(command.joined(separator: " ")) exited with \(p.terminationStatus)")
        }
        return p.terminationStatus
    }
}
