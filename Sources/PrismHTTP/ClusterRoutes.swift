import Hummingbird
import PrismConfig
import PrismGossip

/// `/cluster/members`: this node's gossip view.
struct ClusterRoutes {
    let api: PrismAPI

    struct MemberView: Encodable {
        let id: String
        let state: String
        let incarnation: UInt64
        let zone: String
        let rack: String
        let region: String
        let gossip_addr: String
        let http_addr: String
        let rpc_addr: String
        let protocol_version: Int
        let build_version: String
        let attributes: [String: String]
        let node_state: [String: String]
    }

    struct Members: Encodable {
        let node_id: String
        /// `single` when this node runs no gossip, else `gossip`.
        let mode: String
        let members: [MemberView]
    }

    func register(on router: Router<some RequestContext>) {
        router.get("/cluster/members") { _, _ in
            guard let agent = api.membership else {
                let config = api.config
                let me = MemberView(id: config.node.id, state: "alive", incarnation: 0, zone: config.node.zone, rack: config.node.rack,
                                    region: config.node.region, gossip_addr: "", http_addr: "\(config.server.http)", rpc_addr: "",
                                    protocol_version: Int(GossipProtocol.version), build_version: PrismBuild.version,
                                    attributes: config.node.attributes, node_state: [:])
                return JSONBody.response(Members(node_id: config.node.id, mode: "single", members: [me]))
            }
            let members = await agent.members.map { m in
                MemberView(id: m.id, state: m.status.rawValue, incarnation: m.incarnation, zone: m.metadata.zone, rack: m.metadata.rack,
                           region: m.metadata.region, gossip_addr: m.endpoint.description, http_addr: m.metadata.httpAddress,
                           rpc_addr: m.metadata.rpcAddress, protocol_version: Int(m.metadata.protocolVersion),
                           build_version: m.metadata.buildVersion, attributes: m.metadata.attributes, node_state: m.metadata.state)
            }
            return JSONBody.response(Members(node_id: api.config.node.id, mode: "gossip", members: members))
        }
    }
}
