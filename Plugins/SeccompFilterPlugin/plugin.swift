import PackagePlugin

/// Runs agentrun-seccomp-gen at build time to compile the built-in seccomp filters into a Swift
/// source file, so a launch does not spend ~5 ms in libseccomp. Profiles with `syscalls.deny`
/// still compile their filter at run time.
@main
struct SeccompFilterPlugin: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: any Target) async throws -> [Command] {
        let generator = try context.tool(named: "agentrun-seccomp-gen")
        let output = context.pluginWorkDirectoryURL.appending(path: "PrebuiltSeccomp.swift")
        return [
            .buildCommand(
                displayName: "Compiling the built-in seccomp filters",
                executable: generator.url,
                arguments: [output.path()],
                inputFiles: [generator.url],
                outputFiles: [output]
            )
        ]
    }
}
