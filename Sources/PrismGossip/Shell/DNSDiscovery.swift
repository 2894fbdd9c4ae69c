import CResolv
import Logging
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Peers from a DNS name. SRV records of the name give each member's host and port (a
/// Kubernetes headless service's `_gossip._udp.NAME`); every A and AAAA record of the name is a
/// seed on the gossip port. Both are read, so either kind of name works. Resolved at start and
/// again every `dns_refresh_interval_secs`.
public enum DNSDiscovery {
    public static func resolve(_ name: String, port: Int, logger: Logger) -> [GossipEndpoint] {
        var found: Set<GossipEndpoint> = []
        var problems: [String] = []
        switch serviceRecords(name) {
        case .success(let records):
            for record in records {
                switch addresses(of: record.target) {
                case .success(let hosts): found.formUnion(hosts.map { GossipEndpoint(host: $0, port: Int(record.port)) })
                case .failure(let problem): problems.append("SRV target \(record.target): \(problem.reason)")
                }
            }
        case .failure(let problem):
            problems.append("SRV: \(problem.reason)")
        }
        switch addresses(of: name) {
        case .success(let hosts): found.formUnion(hosts.map { GossipEndpoint(host: $0, port: port) })
        case .failure(let problem): problems.append("A/AAAA: \(problem.reason)")
        }
        let peers = found.sorted { ($0.host, $0.port) < ($1.host, $1.port) }
        if peers.isEmpty {
            logger.warning("DNS discovery found no peers", metadata: ["name": "\(name)", "errors": "\(problems.joined(separator: "; "))"])
        } else {
            logger.debug("DNS discovery resolved", metadata: ["name": "\(name)", "peers": "\(peers.map(\.description))"])
        }
        return peers
    }

    struct Problem: Error {
        let reason: String
    }

    /// The SRV records of `name`; none (not an error) when the name has no such records.
    static func serviceRecords(_ name: String) -> Result<[SRVRecord], Problem> {
        var answer = [UInt8](repeating: 0, count: 65_535)
        let length = prism_res_query_srv(name, &answer, Int32(answer.count))
        // -1: no such name, no SRV data, or no answer (h_errno says which); A records may still exist.
        guard length >= 0 else { return .success([]) }
        do {
            return .success(try SRVRecords.parse(Array(answer.prefix(Int(length)))))
        } catch {
            return .failure(Problem(reason: error.description))
        }
    }

    /// The numeric addresses of every A and AAAA record of `host`.
    static func addresses(of host: String) -> Result<[String], Problem> {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        #if canImport(Glibc)
        hints.ai_socktype = Int32(SOCK_DGRAM.rawValue)
        #else
        hints.ai_socktype = SOCK_DGRAM
        #endif
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, nil, &hints, &list)
        guard status == 0, let first = list else { return .failure(Problem(reason: String(cString: gai_strerror(status)))) }
        defer { freeaddrinfo(first) }
        var hosts: Set<String> = []
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let info = cursor {
            if let address = info.pointee.ai_addr {
                var buffer = [CChar](repeating: 0, count: Int(NI_MAXHOST))
                if getnameinfo(address, info.pointee.ai_addrlen, &buffer, socklen_t(buffer.count), nil, 0, NI_NUMERICHOST) == 0 {
                    hosts.insert(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
                }
            }
            cursor = info.pointee.ai_next
        }
        return .success(hosts.sorted())
    }
}
