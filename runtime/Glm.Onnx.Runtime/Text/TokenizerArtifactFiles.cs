namespace Glm.Onnx.Runtime.Text;

/// <summary>What <see cref="TokenizerArtifactFiles.Copy"/> wrote: file names relative to the artifacts directory.</summary>
public sealed record TokenizerArtifacts(string TokenizerFile, string? ConfigFile, string? ChatTemplateFile);

/// <summary>
/// Copies a checkpoint's tokenizer files into an artifacts directory and records its chat template: the
/// "chat_template" of tokenizer_config.json (or the checkpoint's own chat_template.jinja) is written to
/// chat_template.jinja so the artifacts keep it verbatim. The runtime formats prompts with
/// <see cref="Chat.GlmChatFormatter"/>; the recorded template is kept for reference and comparison, not executed.
/// </summary>
public static class TokenizerArtifactFiles
{
    public const string ChatTemplateFileName = "chat_template.jinja";

    public static TokenizerArtifacts Copy(string checkpointDirectory, string artifactsDirectory)
    {
        var tokenizer = Path.Combine(checkpointDirectory, GlmTokenizer.TokenizerFileName);
        if (!File.Exists(tokenizer))
            throw new FileNotFoundException($"checkpoint '{checkpointDirectory}' has no {GlmTokenizer.TokenizerFileName}", tokenizer);
        Directory.CreateDirectory(artifactsDirectory);
        File.Copy(tokenizer, Path.Combine(artifactsDirectory, GlmTokenizer.TokenizerFileName), overwrite: true);

        string? configName = null;
        string? template = null;
        var config = Path.Combine(checkpointDirectory, GlmTokenizer.ConfigFileName);
        if (File.Exists(config))
        {
            configName = GlmTokenizer.ConfigFileName;
            File.Copy(config, Path.Combine(artifactsDirectory, configName), overwrite: true);
            template = TokenizerConfig.Load(config).ChatTemplate;
        }

        var jinja = Path.Combine(checkpointDirectory, ChatTemplateFileName);
        if (template is null && File.Exists(jinja))
            template = File.ReadAllText(jinja);
        if (template is not null)
            File.WriteAllText(Path.Combine(artifactsDirectory, ChatTemplateFileName), template);
        return new TokenizerArtifacts(GlmTokenizer.TokenizerFileName, configName, template is null ? null : ChatTemplateFileName);
    }
}
