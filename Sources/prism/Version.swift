import ArgumentParser
import PrismConfig

struct Version: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the version of this build.")

    func run() {
        print("prism \(PrismBuild.version)")
    }
}
