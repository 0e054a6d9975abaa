import AgentrunJSON

/// `backend: {noop: {}}`: returns the arguments and runs nothing (tests, benchmarks, dry policies).
struct NoopBackend: ToolBackend {
    func call(arguments: JSON, timeout: Double) async -> ToolCallResult {
        ToolCallResult(
            content: [.text(arguments.serializedString)],
            structuredContent: arguments.objectValue != nil ? arguments : nil,
            isError: false, status: .ok, detail: "noop"
        )
    }
}

/// A tool whose backend could not be built from the profile: every call fails (fail closed).
/// `ToolBackends.start()` also reports the problem, so a run normally never gets here.
struct MisconfiguredBackend: ToolBackend {
    let message: String
    func call(arguments: JSON, timeout: Double) async -> ToolCallResult {
        .failure("the tool is misconfigured: \(message)")
    }
}
