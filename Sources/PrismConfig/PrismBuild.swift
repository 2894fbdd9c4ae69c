/// Build identity, reported by `prism version`, `/`, `/health` and (later) gossip metadata.
public enum PrismBuild {
    public static let version = "0.1.0"
}
