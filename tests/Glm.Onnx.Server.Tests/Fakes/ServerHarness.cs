using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Glm.Onnx.Server;
using Microsoft.AspNetCore.Builder;

namespace Glm.Onnx.Tests.Fakes;

/// <summary>The real server on 127.0.0.1 port 0 over a <see cref="ChatHarness"/>, with an HttpClient pointed at it.</summary>
public sealed class ServerHarness : IAsyncDisposable
{
    private ServerHarness(ChatHarness chat, WebApplication app, string address)
    {
        Chat = chat;
        App = app;
        BaseAddress = address;
        // No draining of an abandoned response: disposing it must close the connection at once (the disconnect test).
        Http = new HttpClient(new SocketsHttpHandler { MaxResponseDrainSize = 0, ResponseDrainTimeout = TimeSpan.Zero }) { BaseAddress = new Uri(address), Timeout = TimeSpan.FromMinutes(10) };
    }

    public const string ModelId = "glm-tiny-chat";

    public ChatHarness Chat { get; }

    public WebApplication App { get; }

    public string BaseAddress { get; }

    public HttpClient Http { get; }

    public static Task<ServerHarness> StartAsync(Func<ChatScripts, Func<IReadOnlyList<int>, int>> policy, string? apiKey = null,
        int numBlocks = 2048, int maxSequenceLength = 4096, Func<GlmServerOptions, GlmServerOptions>? configure = null) =>
        StartAsync(new ChatHarness(policy, numBlocks, maxSequenceLength), apiKey, configure);

    /// <summary>The server over a chat stack the test built (its scheduler and telemetry options); takes ownership of it.</summary>
    public static async Task<ServerHarness> StartAsync(ChatHarness chat, string? apiKey = null,
        Func<GlmServerOptions, GlmServerOptions>? configure = null)
    {
        var options = new GlmServerOptions(ModelId, ["http://127.0.0.1:0"], apiKey);
        var (app, addresses) = await GlmServer.StartAsync(chat.Generator, configure is null ? options : configure(options));
        return new ServerHarness(chat, app, addresses.Single());
    }

    public static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    public async Task<(int Status, JsonElement Body)> PostAsync(string path, string json, string? apiKey = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = Json(json) };
        if (apiKey is not null)
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        using var response = await Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return ((int)response.StatusCode, JsonDocument.Parse(text).RootElement.Clone());
    }

    /// <summary>Posts a streaming request and returns the parsed "data:" events (without the final [DONE]) and whether [DONE] came.</summary>
    public async Task<(List<JsonElement> Events, bool Done, string ContentType)> PostStreamAsync(string path, string json)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = Json(json) };
        using var response = await Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(200, (int)response.StatusCode);
        var events = new List<JsonElement>();
        bool done = false;
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        while (await reader.ReadLineAsync() is { } line)
        {
            if (!line.StartsWith("data: ", StringComparison.Ordinal))
                continue;
            var data = line["data: ".Length..];
            if (data == "[DONE]")
            {
                done = true;
                continue;
            }
            events.Add(JsonDocument.Parse(data).RootElement.Clone());
        }
        return (events, done, response.Content.Headers.ContentType?.MediaType ?? "");
    }

    /// <summary>Waits (bounded) until every cache block is free again.</summary>
    public async Task WaitForAllBlocksFreeAsync()
    {
        for (int i = 0; i < 500 && Chat.Engine.FreeBlockCount != Chat.TotalBlocks; i++)
            await Task.Delay(10);
        Assert.Equal(Chat.TotalBlocks, Chat.Engine.FreeBlockCount);
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
        Chat.Dispose();
    }
}
