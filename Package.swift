// swift-tools-version:6.0
import PackageDescription

/// Swift 6 language mode everywhere; existential `any` spelled out.
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "agentrun",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "agentrun", targets: ["agentrun"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/vapor/jwt-kit", from: "5.7.1"),
    ],
    targets: [
        // System libraries, found through pkg-config (Debian: libseccomp-dev, libcap-dev, libyaml-dev).
        .systemLibrary(name: "CSeccomp", pkgConfig: "libseccomp", providers: [.apt(["libseccomp-dev"])]),
        .systemLibrary(name: "CLibcap", pkgConfig: "libcap", providers: [.apt(["libcap-dev"])]),
        .systemLibrary(name: "CYAML", pkgConfig: "yaml-0.1", providers: [.apt(["libyaml-dev"])]),

        // The post-clone child and the kernel interfaces glibc does not wrap. Async-signal-safe C.
        .target(name: "CAgentrunShim", cSettings: [.define("_GNU_SOURCE")]),

        // File descriptors, errno-carrying errors, small syscall helpers.
        .target(name: "AgentrunOS", dependencies: ["CAgentrunShim"], swiftSettings: swiftSettings),

        // Built-in profiles, embedded in the binary from profiles/*.yaml.
        .target(
            name: "AgentrunProfiles",
            path: "profiles",
            sources: ["BuiltinProfiles.swift"],
            resources: [
                .embedInCode("default.yaml"),
                .embedInCode("offline.yaml"),
                .embedInCode("python-agent.yaml"),
                .embedInCode("ci-untrusted.yaml"),
            ],
            swiftSettings: swiftSettings
        ),

        // JSON as the broker speaks it: strict parsing with limits, numbers kept exact, JSON Pointer.
        .target(name: "AgentrunJSON", swiftSettings: swiftSettings),

        // The profile model, strict YAML decoding, `extends`, validation, the tool-call policy
        // engine. Pure: no syscalls.
        .target(
            name: "AgentrunPolicy",
            dependencies: ["CYAML", "AgentrunProfiles", "AgentrunJSON"],
            swiftSettings: swiftSettings
        ),

        // The seccomp policy (data) and its compilation to BPF with libseccomp.
        .target(
            name: "AgentrunSeccomp",
            dependencies: ["AgentrunOS", "CAgentrunShim", "CSeccomp"],
            swiftSettings: swiftSettings
        ),
        // Compiles the built-in filter at build time (libseccomp takes ~5 ms per run otherwise).
        .executableTarget(name: "agentrun-seccomp-gen", dependencies: ["AgentrunSeccomp"], swiftSettings: swiftSettings),
        .plugin(name: "SeccompFilterPlugin", capability: .buildTool(), dependencies: ["agentrun-seccomp-gen"]),

        // Launch plan, mount view, Landlock rules, supervisor, doctor probes.
        .target(
            name: "AgentrunSandbox",
            dependencies: [
                "AgentrunOS", "AgentrunPolicy", "AgentrunProfiles", "AgentrunSeccomp", "AgentrunProvenance", "CAgentrunShim",
                "CLibcap", "AgentrunBroker", "AgentrunJSON",
            ],
            swiftSettings: swiftSettings,
            plugins: ["SeccompFilterPlugin"]
        ),

        // The tamper-evident run log: canonical JSON, hash chain, signed checkpoints, verify, export.
        .target(
            name: "AgentrunProvenance",
            dependencies: ["AgentrunOS", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: swiftSettings
        ),

        // The broker socket inside the sandbox: HTTP/1.1 + JSON (MCP, credentials, checks) on NIO,
        // credentials minted with jwt-kit, host-side tool backends (command, http, upstream MCP).
        .target(
            name: "AgentrunBroker",
            dependencies: [
                "AgentrunJSON", "AgentrunPolicy", "AgentrunProvenance", "AgentrunOS", "CAgentrunShim",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),

        // Append and verify throughput of the provenance log (bench/provenance.sh).
        .executableTarget(
            name: "agentrun-provenance-bench", dependencies: ["AgentrunProvenance", "AgentrunOS"], swiftSettings: swiftSettings
        ),

        // ArgumentParser commands (a library so tests can drive them).
        .target(
            name: "AgentrunCLI",
            dependencies: [
                "AgentrunSandbox", "AgentrunPolicy", "AgentrunOS", "AgentrunSeccomp", "AgentrunProvenance", "AgentrunBroker",
                "AgentrunJSON",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(name: "agentrun", dependencies: ["AgentrunCLI"], swiftSettings: swiftSettings),

        // A C program of attack primitives that the integration tests run inside sandboxes.
        .executableTarget(name: "agentrun-probe", cSettings: [.define("_GNU_SOURCE")]),

        .testTarget(name: "AgentrunJSONTests", dependencies: ["AgentrunJSON"], swiftSettings: swiftSettings),
        .testTarget(name: "AgentrunPolicyTests", dependencies: ["AgentrunPolicy", "AgentrunJSON"], swiftSettings: swiftSettings),
        .testTarget(
            name: "AgentrunBrokerTests",
            dependencies: [
                "AgentrunBroker", "AgentrunJSON", "AgentrunPolicy", "AgentrunProvenance",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "JWTKit", package: "jwt-kit"),
            ],
            exclude: ["Fixtures"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "AgentrunSandboxTests",
            dependencies: ["AgentrunSandbox", "AgentrunPolicy", "AgentrunSeccomp", "CSeccomp"],
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "AgentrunProvenanceTests", dependencies: ["AgentrunProvenance"], swiftSettings: swiftSettings),
        .testTarget(name: "AgentrunCLITests", dependencies: ["AgentrunCLI"], swiftSettings: swiftSettings),
        .testTarget(
            name: "AgentrunIntegrationTests",
            dependencies: ["agentrun", "agentrun-probe"],
            swiftSettings: swiftSettings
        ),
    ]
)
