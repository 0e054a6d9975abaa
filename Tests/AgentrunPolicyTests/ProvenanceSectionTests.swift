import Testing

@testable import AgentrunPolicy

@Suite struct ProvenanceSectionTests {
    let store = ProfileStore(searchPaths: [])

    @Test func defaults() throws {
        let profile = try store.load("default")
        #expect(profile.provenance == ProvenancePolicy())
        #expect(profile.provenance.checkpointEvery == 1000)
        #expect(profile.provenance.checkpointInterval == 5)
        #expect(profile.provenance.durability == .checkpoint)
    }

    @Test func everyKeyAndAppendingSecrets() throws {
        let profile = try store.load(yaml: """
            extends: default
            provenance:
              dir: /var/log/agentrun
              sign_key: /etc/agentrun/operator.key
              checkpoint_every: 50
              checkpoint_interval: 250ms
              durability: record
              secrets: [GITHUB_TOKEN]
            """, file: "/tmp/p.yaml")
        #expect(profile.provenance == ProvenancePolicy(
            dir: "/var/log/agentrun", signKey: "/etc/agentrun/operator.key", checkpointEvery: 50,
            checkpointInterval: 0.25, durability: .record, secrets: ["GITHUB_TOKEN"]))
        // Round trip through the renderer.
        var reloaded = try store.load(yaml: profile.renderYAML(), file: "/tmp/p2.yaml")
        #expect(reloaded.provenance == profile.provenance)
        reloaded = try store.load(yaml: "extends: default\nprovenance:\n  secrets+: [A, B]\n", file: "/tmp/p3.yaml")
        #expect(reloaded.provenance.secrets == ["A", "B"])
    }

    @Test(arguments: [
        ("provenance:\n  sign_key: relative.key\n", "provenance.sign_key"),
        ("provenance:\n  checkpoint_every: unlimited\n", "provenance.checkpoint_every"),
        ("provenance:\n  checkpoint_interval: 2h\n", "provenance.checkpoint_interval"),
        ("provenance:\n  durability: sometimes\n", "provenance.durability"),
        ("provenance:\n  secrets: [\"BAD-NAME\"]\n", "provenance.secrets[0]"),
        ("provenance:\n  dirr: /x\n", "provenance.dirr"),
    ])
    func errors(yaml: String, keyPath: String) {
        #expect(throws: ProfileError.self) { try store.load(yaml: yaml, file: "/tmp/bad.yaml") }
        do {
            _ = try store.load(yaml: yaml, file: "/tmp/bad.yaml")
        } catch {
            #expect(error.keyPath == keyPath, "\(error)")
            #expect(error.line == 2, "\(error)")
        }
    }
}
