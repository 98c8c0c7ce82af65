using System.Text.Json;

namespace Glm.Onnx.Server;

/// <summary>The "model" field must name the served model (OpenAI answers an unknown model with 404 model_not_found).</summary>
internal static class ModelCheck
{
    public static string Require(JsonElement body, GlmServerOptions options)
    {
        var model = RequestJson.RequireString(body, "model");
        if (!string.Equals(model, options.ModelId, StringComparison.Ordinal))
            throw new ApiError(404, $"The model '{model}' does not exist; this server serves '{options.ModelId}'.", "model", "model_not_found");
        return model;
    }
}
