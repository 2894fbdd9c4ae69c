import Logging
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Peers from a DNS name (a Kubernetes headless service): every A and AAAA record becomes a
/// seed on the gossip port. Resolved at start and again every `dns_refresh_interval_secs`.
public enum DNSDiscovery {
    public static func resolve(_ name: String, port: Int, logger: Logger) -> [GossipEndpoint] {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        #if canImport(Glibc)
        hints.ai_socktype = Int32(SOCK_DGRAM.rawValue)
        #else
        hints.ai_socktype = SOCK_DGRAM
        #endif
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(name, nil, &hints, &list)
        guard status == 0, let first = list else {
            logger.warning("DNS discovery: cannot resolve", metadata: ["name": "\(name)", "error": "\(String(cString: gai_strerror(status)))"])
            return []
        }
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
        logger.debug("DNS discovery resolved", metadata: ["name": "\(name)", "peers": "\(hosts.sorted())"])
        return hosts.sorted().map { GossipEndpoint(host: $0, port: port) }
    }
}
