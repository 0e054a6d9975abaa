import AgentrunPolicy
import Foundation
import Testing

@testable import AgentrunBroker

@Suite struct SecretStoreTests {
    let value = "v4lue-Never-Shown"

    func policy(_ sources: [String: SecretSource]) -> BrokerPolicy {
        BrokerPolicy(
            credentials: sources.map { CredentialPolicy(name: $0.key, kind: .secret($0.value)) }
                + [CredentialPolicy(name: "jwt", kind: .jwt(JWTCredential(audiences: ["a"])))]
        )
    }

    /// A fresh private directory for one test.
    func directory() throws -> String {
        let path = NSTemporaryDirectory() + "agentrun-secrets-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
        return path
    }

    func write(_ text: String, to path: String, mode: Int = 0o600) throws {
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
    }

    func expectFailure(_ policy: BrokerPolicy, environment: [String: String] = [:], mentions: [String]) {
        do {
            _ = try SecretStore.load(policy, environment: environment)
            Issue.record("loaded")
        } catch {
            for word in mentions { #expect(error.message.contains(word), "\(error.message) should mention \(word)") }
            #expect(!error.message.contains(value))
        }
    }

    @Test func readsEnvironmentVariablesAndSkipsJWTCredentials() throws {
        let store = try SecretStore.load(policy(["API": .environment("MY_API_KEY")]), environment: ["MY_API_KEY": value])
        #expect(store.values == ["API": value])
    }

    @Test func aMissingOrEmptyVariableNamesTheCredentialAndVariable() {
        expectFailure(policy(["API": .environment("MY_API_KEY")]), environment: [:], mentions: ["`API`", "MY_API_KEY", "not set"])
        expectFailure(policy(["API": .environment("MY_API_KEY")]), environment: ["MY_API_KEY": ""], mentions: ["`API`", "empty"])
    }

    @Test func readsAFileAndRemovesOneTrailingNewline() throws {
        let dir = try directory()
        try write(value + "\n\n", to: dir + "/s")
        let store = try SecretStore.load(policy(["F": .file(dir + "/s")]), environment: [:])
        #expect(store["F"] == value + "\n")
        try write(value, to: dir + "/t")
        #expect(try SecretStore.load(policy(["F": .file(dir + "/t")]), environment: [:])["F"] == value)
    }

    @Test func refusesUnsafeFiles() throws {
        let dir = try directory()
        try write(value, to: dir + "/target")
        try FileManager.default.createSymbolicLink(atPath: dir + "/link", withDestinationPath: dir + "/target")
        expectFailure(policy(["F": .file(dir + "/link")]), mentions: ["`F`", dir + "/link", "symbolic link"])

        try write(value, to: dir + "/shared", mode: 0o620)
        expectFailure(policy(["F": .file(dir + "/shared")]), mentions: ["`F`", "writable"])
        try write(value, to: dir + "/world", mode: 0o602)
        expectFailure(policy(["F": .file(dir + "/world")]), mentions: ["writable"])

        try write("\n", to: dir + "/empty")
        expectFailure(policy(["F": .file(dir + "/empty")]), mentions: ["empty"])

        try write(String(repeating: "a", count: 64 << 10 + 1), to: dir + "/big")
        expectFailure(policy(["F": .file(dir + "/big")]), mentions: ["larger"])
        try write(String(repeating: "a", count: 64 << 10), to: dir + "/max")
        #expect(try SecretStore.load(policy(["F": .file(dir + "/max")]), environment: [:])["F"]?.utf8.count == 64 << 10)

        expectFailure(policy(["F": .file(dir)]), mentions: ["not a regular file"])
        expectFailure(policy(["F": .file(dir + "/missing")]), mentions: ["cannot be opened"])
        expectFailure(policy(["F": .file("relative/path")]), mentions: ["absolute"])
        try Data([0x61, 0xFF, 0x62]).write(to: URL(fileURLWithPath: dir + "/binary"))
        expectFailure(policy(["F": .file(dir + "/binary")]), mentions: ["UTF-8"])
    }
}
