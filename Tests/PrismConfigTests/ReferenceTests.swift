import Foundation
@testable import PrismConfig
import Testing

@Suite("Configuration reference")
struct ReferenceTests {
    @Test func docsListEveryKey() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let docs = try String(contentsOf: root.appendingPathComponent("docs/configuration.md"), encoding: .utf8)
        for key in ConfigSchema.keys {
            #expect(docs.contains("`[\(key.section)]`"), "docs/configuration.md lacks section [\(key.section)]")
            #expect(docs.contains("| `\(key.name)` |"), "docs/configuration.md lacks key \(key.path)")
        }
        // The generated table must be current: regenerate with `make docs` when a key changes.
        #expect(docs.contains(ConfigReference.markdown()), "docs/configuration.md is out of date; run `prism config reference`")
    }

    @Test func renderShowsSources() throws {
        let resolved = try ConfigLoader(filePath: "p.toml", environment: ["PRISM_NODE_ZONE": "z"])
            .resolve(fileText: "[cluster.health]\nfailure_threshold = 4\n")
        let text = resolved.render()
        #expect(text.contains("failure_threshold = 4  # p.toml:2"))
        #expect(text.contains("zone = \"z\"  # environment PRISM_NODE_ZONE"))
        #expect(text.contains("max_body_size = 33554432  # 32MiB, default"))
    }
}
