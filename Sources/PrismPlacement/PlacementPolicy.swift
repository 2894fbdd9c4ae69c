/// How replicas are placed: the failure domain they must not share, how far above its fair
/// share a node may be loaded, and the ring's resolution.
import PrismConfig

public struct PlacementPolicy: Hashable, Sendable {
    public var spreadAcross: FailureDomain
    /// ε of consistent hashing with bounded loads: a node holds at most ⌈(1 + ε)·target⌉
    /// replicas, its target being its weight's share of what its failure domain must hold.
    public var loadSlack: Double
    public var virtualNodes: Int

    public init(spreadAcross: FailureDomain = .zone, loadSlack: Double = 0.1, virtualNodes: Int = 64) {
        self.spreadAcross = spreadAcross
        self.loadSlack = max(0, loadSlack)
        self.virtualNodes = max(1, virtualNodes)
    }

    /// `[cluster.placement]`.
    public init(_ config: PlacementConfig) {
        self.init(spreadAcross: FailureDomain(rawValue: config.spreadAcross.rawValue) ?? .zone, loadSlack: config.loadSlack)
    }
}
