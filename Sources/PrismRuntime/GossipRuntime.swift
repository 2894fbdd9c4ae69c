import Foundation
import Logging
import PrismConfig
import PrismGossip
import PrismMetrics
import PrismTransport
import Synchronization

/// Starts this node's gossip agent from its configuration and connects it to the outside:
/// `--events` JSON lines on stdout, `prism_node_state` and gossip counters in the metrics, and
/// periodic DNS re-resolution of the seeds when discovery is `dns`.
public struct GossipRuntime: Sendable {
    public let agent: GossipAgent
    private let watchers: [Task<Void, Never>]

    static func settings(_ config: PrismConfig) -> SWIMSettings {
        SWIMSettings.fromHealth(heartbeatIntervalMillis: config.health.heartbeatIntervalMillis,
                                failureThreshold: config.health.failureThreshold,
                                suspectTimeoutMillis: config.health.suspectTimeoutMillis)
    }

    static func metadata(_ config: PrismConfig, httpAddress: String) -> MemberMetadata {
        MemberMetadata(zone: config.node.zone, rack: config.node.rack, region: config.node.region,
                       attributes: config.node.attributes, httpAddress: httpAddress, rpcAddress: "\(config.server.rpc)",
                       protocolVersion: GossipProtocol.version, buildVersion: PrismBuild.version)
    }

    public static func start(config: PrismConfig, httpAddress: String, printEvents: Bool, metrics: NodeMetrics?,
                             logger: Logger) async throws -> GossipRuntime {
        let discovery = config.discovery
        var seeds = discovery.joinSeeds.map { GossipEndpoint(host: $0.host, port: $0.port) }
        if discovery.backend == .dns {
            seeds = DNSDiscovery.resolve(discovery.dnsName, port: discovery.gossipPort, logger: logger)
        }
        let keyring = discovery.gossipKeys.isEmpty ? nil : try Keyring(keys: discovery.gossipKeys)
        let configuration = GossipAgentConfiguration(
            id: config.node.id,
            bind: GossipEndpoint(host: config.server.gossip.host, port: config.server.gossip.port),
            advertise: config.server.gossipAdvertise.map { GossipEndpoint(host: $0.host, port: $0.port) },
            metadata: metadata(config, httpAddress: httpAddress), settings: settings(config), seeds: seeds, keyring: keyring)
        let agent = try await GossipAgent.start(configuration, logger: Logger(label: "prism.gossip"))

        var watchers: [Task<Void, Never>] = []
        let states = metrics.map { NodeStateGauges(metrics: $0) }
        states?.set(config.node.id, .alive)
        if let metrics { GossipCounters.register(agent: agent, on: metrics) }
        watchers.append(Task {
            for await observed in agent.events {
                if printEvents { EventLine.print(observed) }
                states?.apply(observed.event)
            }
        })
        if discovery.backend == .dns {
            let (name, port, every) = (discovery.dnsName, discovery.gossipPort, discovery.dnsRefreshIntervalSeconds)
            watchers.append(Task {
                while !Task.isCancelled {
                    try? await Task.sleep(for: .seconds(every))
                    let found = DNSDiscovery.resolve(name, port: port, logger: logger)
                    if !found.isEmpty { await agent.setSeeds(found) }
                }
            })
        }
        return GossipRuntime(agent: agent, watchers: watchers)
    }

    public func stop() async {
        await agent.stop(leave: true)
        for w in watchers { w.cancel() }
    }
}

/// `--events`: one JSON object per line per membership change, like `serf monitor`.
enum EventLine {
    static func format(_ observed: GossipAgent.Observed) -> String {
        let e = observed.event
        return "{\"t\":\(String(format: "%.6f", observed.unixTime)),\"member\":\(JSONString.quote(e.member)),"
            + "\"state\":\"\(e.change.rawValue)\",\"incarnation\":\(e.incarnation)}\n"
    }

    static func print(_ observed: GossipAgent.Observed) {
        FileHandle.standardOutput.write(Data(format(observed).utf8))
    }
}

enum JSONString {
    static func quote(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}

/// `prism_node_state{node_id,state}`: 1 for the state each member is in, 0 for the others
/// (all 0 once a member is removed), so `prism_node_state{state="dead"} == 1` alerts work.
final class NodeStateGauges: Sendable {
    static let states = ["alive", "suspect", "dead", "left"]
    let metrics: NodeMetrics

    init(metrics: NodeMetrics) { self.metrics = metrics }

    func set(_ member: String, _ state: MemberStatus?) {
        for s in Self.states {
            metrics.gauge("prism_node_state", labels: [("node_id", member), ("state", s)],
                          help: "Membership state of each node as this node sees it (1 = current state)")
                .set(Int64(s == state?.rawValue ? 1 : 0))
        }
    }

    func apply(_ event: MembershipEvent) {
        switch event.change {
        case .alive: set(event.member, .alive)
        case .suspect: set(event.member, .suspect)
        case .dead: set(event.member, .dead)
        case .left: set(event.member, .left)
        case .removed: set(event.member, nil)
        case .updated, .refused: break
        }
    }
}

/// Gossip traffic counters, exported at each scrape by the increase since the previous one.
enum GossipCounters {
    static func register(agent: GossipAgent, on metrics: NodeMetrics) {
        let exported = Mutex(GossipStatistics())
        metrics.onScrape { metrics in
            let now = agent.statistics
            let before = exported.withLock { previous in
                defer { previous = now }
                return previous
            }
            func add(_ name: String, _ help: String, _ delta: Int, labels: [(String, String)] = []) {
                if delta > 0 { metrics.counter(name, labels: labels, help: help).increment(by: Int64(delta)) }
            }
            add("prism_gossip_datagrams_sent_total", "Gossip UDP datagrams sent", now.datagramsSent - before.datagramsSent)
            add("prism_gossip_datagrams_received_total", "Gossip UDP datagrams received", now.datagramsReceived - before.datagramsReceived)
            add("prism_gossip_bytes_sent_total", "Gossip UDP bytes sent", now.bytesSent - before.bytesSent)
            add("prism_gossip_bytes_received_total", "Gossip UDP bytes received", now.bytesReceived - before.bytesReceived)
            add("prism_gossip_push_pulls_total", "Push-pull exchanges started", now.pushPullsStarted - before.pushPullsStarted)
            add("prism_gossip_push_pull_failures_total", "Push-pull exchanges that failed", now.pushPullsFailed - before.pushPullsFailed)
            add("prism_gossip_watch_losses_total", "Watch connections to members that closed or could not be opened",
                now.watchesLost - before.watchesLost)
            for reason in GossipStatistics.dropReasons {
                add("prism_gossip_dropped_packets_total", "Gossip packets refused (garbage, truncated, wrong key, incompatible version)",
                    now.dropped[reason, default: 0] - before.dropped[reason, default: 0], labels: [("reason", reason)])
            }
            // Present from the start, so dashboards and tests see the series before any drop.
            if before == GossipStatistics() {
                for reason in GossipStatistics.dropReasons {
                    _ = metrics.counter("prism_gossip_dropped_packets_total", labels: [("reason", reason)],
                                        help: "Gossip packets refused (garbage, truncated, wrong key, incompatible version)")
                }
            }
        }
    }
}
