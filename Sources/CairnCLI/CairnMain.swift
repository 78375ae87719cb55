import ArgumentParser

public enum CairnMain {
    public static func main() async {
        await CairnCommand.main()
    }
}

struct CairnCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cairn",
        abstract: "Build highly available Kubernetes clusters over SSH."
    )
}
