using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Glm.Onnx.Server;
using Glm.Onnx.Tests.Fakes;

namespace Glm.Onnx.Tests;

/// <summary>
/// Hostile requests get the right 4xx, OpenAI-shaped: oversized bodies 413, slow bodies 408, broken strings 400 naming
/// the field, too many at once 429, and prompts that cannot fit are refused before they are tokenized.
/// </summary>
public sealed class ServerLimitTests
{
    private const string Script = "<think></think>ok<|user|>";

    private static void AssertError(int status, JsonElement body, int expectedStatus, string? code, string? param = null)
    {
        Assert.Equal(expectedStatus, status);
        var error = body.GetProperty("error");
        Assert.False(string.IsNullOrWhiteSpace(error.GetProperty("message").GetString()));
        if (code is not null)
            Assert.Equal(code, error.GetProperty("code").GetString());
        if (param is not null)
            Assert.Equal(param, error.GetProperty("param").GetString());
    }

    private static async Task<(int Status, JsonElement Body)> PostBytesAsync(ServerHarness server, string path, byte[] body, bool chunked = false)
    {
        HttpContent content = chunked ? new StreamContent(new MemoryStream(body)) : new ByteArrayContent(body);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        if (chunked)
            content.Headers.ContentLength = null;
        // Expect: 100-continue lets the server refuse a declared-too-large body before the client sends it (else the
        // client may still be writing when the refused connection closes).
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = content };
        request.Headers.ExpectContinue = true;
        using var response = await server.Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return ((int)response.StatusCode, JsonDocument.Parse(text).RootElement.Clone());
    }

    private static string Chat(string content) =>
        $$"""{"model":"glm-tiny-chat","messages":[{"role":"user","content":{{JsonSerializer.Serialize(content)}}}]}""";

    [Fact]
    public async Task OversizedBodiesGet413WithOrWithoutAContentLength()
    {
        await using var server = await ServerHarness.StartAsync(s => s.Fixed(Script), configure: o => o with { MaxRequestBodyBytes = 1024 });
        var big = Encoding.UTF8.GetBytes(Chat(new string('a', 4000)));
        var (status, json) = await PostBytesAsync(server, "/v1/chat/completions", big);
        AssertError(status, json, 413, "request_too_large");
        (status, json) = await PostBytesAsync(server, "/v1/chat/completions", big, chunked: true);
        AssertError(status, json, 413, "request_too_large");
        (status, json) = await PostBytesAsync(server, "/v1/completions", Encoding.UTF8.GetBytes($$"""{"model":"glm-tiny-chat","prompt":"{{new string('a', 4000)}}"}"""));
        AssertError(status, json, 413, "request_too_large");
        // A body under the cap still works.
        (status, _) = await PostBytesAsync(server, "/v1/chat/completions", Encoding.UTF8.GetBytes(Chat("hi")));
        Assert.Equal(200, status);
    }

    [Fact]
    public async Task ASlowBodyGets408()
    {
        await using var server = await ServerHarness.StartAsync(s => s.Fixed(Script), configure: o => o with { RequestBodyTimeout = TimeSpan.FromSeconds(1) });
        using var client = await SendPartialBodyAsync(server, declaredLength: 200);
        var response = await ReadResponseAsync(client, TimeSpan.FromMinutes(10));
        Assert.StartsWith("HTTP/1.1 408", response);
        var json = JsonDocument.Parse(response[(response.IndexOf("\r\n\r\n", StringComparison.Ordinal) + 4)..]).RootElement;
        Assert.Equal("request_timeout", json.GetProperty("error").GetProperty("code").GetString());
    }

    [Theory]
    [InlineData("""{"model":"glm-tiny-chat","messages":[{"role":"user","content":"a\ud800b"}]}""", "messages[0].content")]
    [InlineData("""{"model":"glm-tiny-chat","messages":[{"role":"user","content":"hi"}],"stop":["\udc00"]}""", "stop[0]")]
    [InlineData("""{"model":"glm-tiny-chat","messages":[{"role":"user","content":"hi","name":"x"}],"user":"\ud83d"}""", "user")]
    public async Task LoneSurrogatesGet400NamingTheField(string body, string param)
    {
        await using var server = await ServerHarness.StartAsync(s => s.Fixed(Script));
        var (status, json) = await server.PostAsync("/v1/chat/completions", body);
        AssertError(status, json, 400, "invalid_string", param);
    }

    [Fact]
    public async Task InvalidUtf8Gets400NamingTheField()
    {
        await using var server = await ServerHarness.StartAsync(s => s.Fixed(Script));
        var prefix = Encoding.UTF8.GetBytes("""{"model":"glm-tiny-chat","messages":[{"role":"user","content":"a""");
        var suffix = Encoding.UTF8.GetBytes("""b"}]}""");
        byte[] body = [.. prefix, 0xC3, 0x28, .. suffix]; // 0xC3 starts a 2-byte sequence; 0x28 cannot continue it
        var (status, json) = await PostBytesAsync(server, "/v1/chat/completions", body);
        Assert.Equal(400, status);
        var error = json.GetProperty("error");
        Assert.Contains("UTF-8", error.GetProperty("message").GetString());
        Assert.Equal("messages[0].content", error.GetProperty("param").GetString());
        (status, json) = await PostBytesAsync(server, "/v1/completions", [.. Encoding.UTF8.GetBytes("""{"model":"glm-tiny-chat","prompt":"x"""), 0xFF, .. Encoding.UTF8.GetBytes("\"}")]);
        Assert.Equal(400, status);
        Assert.Contains("UTF-8", json.GetProperty("error").GetProperty("message").GetString());
        Assert.Equal("prompt", json.GetProperty("error").GetProperty("param").GetString());
    }

    [Fact]
    public async Task RequestsBeyondTheConcurrencyLimitGet429()
    {
        await using var server = await ServerHarness.StartAsync(s => s.Fixed(Script),
            configure: o => o with { MaxConcurrentRequests = 1, RequestBodyTimeout = TimeSpan.FromSeconds(20) });
        // The one slot is held by a client still sending its body.
        using (var holder = await SendPartialBodyAsync(server, declaredLength: 500))
        {
            await Task.Delay(300);
            using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = ServerHarness.Json(Chat("hi")) };
            using var response = await server.Http.SendAsync(request);
            Assert.Equal(429, (int)response.StatusCode);
            Assert.Equal("1", response.Headers.RetryAfter?.ToString());
            var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
            Assert.Equal("rate_limit_exceeded", json.GetProperty("error").GetProperty("code").GetString());
        }

        // Once the holder is gone the slot frees.
        int status = 0;
        for (int i = 0; i < 50 && status != 200; i++)
        {
            (status, _) = await server.PostAsync("/v1/chat/completions", Chat("hi"));
            if (status != 200)
                await Task.Delay(100);
        }

        Assert.Equal(200, status);
    }

    [Fact]
    public async Task AHugePromptIsRefusedFromItsLengthBeforeTokenizing()
    {
        await using var server = await ServerHarness.StartAsync(s => s.Fixed(Script), maxSequenceLength: 64);
        var huge = new string('x', 200_000);
        var (status, json) = await server.PostAsync("/v1/chat/completions", Chat(huge));
        AssertError(status, json, 400, "context_length_exceeded", "messages");
        // "at least": the count is the length bound, not a tokenization's result.
        Assert.Contains("at least", json.GetProperty("error").GetProperty("message").GetString());
        (status, json) = await server.PostAsync("/v1/completions", $$"""{"model":"glm-tiny-chat","prompt":"{{huge}}"}""");
        AssertError(status, json, 400, "context_length_exceeded", "prompt");
        Assert.Contains("at least", json.GetProperty("error").GetProperty("message").GetString());
    }

    [Fact]
    public void AnEmptyApiKeyOrABadUrlIsRefused()
    {
        Assert.Contains("API key", Assert.Throws<ArgumentException>(() => new GlmServerOptions("m", null, "").Validate()).Message);
        Assert.Contains("API key", Assert.Throws<ArgumentException>(() => new GlmServerOptions("m", null, "  ").Validate()).Message);
        Assert.Contains("not a listen address", Assert.Throws<ArgumentException>(() => new GlmServerOptions("m", ["localhost:8000"]).Validate()).Message);
        Assert.Contains("not a listen address", Assert.Throws<ArgumentException>(() => new GlmServerOptions("m", ["ftp://127.0.0.1:21"]).Validate()).Message);
        new GlmServerOptions("m", ["http://*:8000", "http://[::1]:0", "https://localhost:8443"], "key").Validate();
    }

    // Sends the headers and 10 bytes of a body that claims more, then stalls.
    private static async Task<TcpClient> SendPartialBodyAsync(ServerHarness server, int declaredLength)
    {
        var uri = new Uri(server.BaseAddress);
        var client = new TcpClient();
        await client.ConnectAsync(uri.Host, uri.Port);
        var head = $"POST /v1/chat/completions HTTP/1.1\r\nHost: {uri.Authority}\r\nContent-Type: application/json\r\nContent-Length: {declaredLength}\r\n\r\n{{\"model\":";
        await client.GetStream().WriteAsync(Encoding.ASCII.GetBytes(head));
        return client;
    }

    private static async Task<string> ReadResponseAsync(TcpClient client, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        var buffer = new byte[8192];
        var all = new MemoryStream();
        var stream = client.GetStream();
        while (true)
        {
            int read = await stream.ReadAsync(buffer, cts.Token);
            if (read == 0)
                break;
            all.Write(buffer, 0, read);
            var text = Encoding.UTF8.GetString(all.ToArray());
            int split = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
            if (split >= 0 && text.Contains("Content-Length: ", StringComparison.OrdinalIgnoreCase))
            {
                var header = text[..split];
                var lengthLine = header.Split("\r\n").First(l => l.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase));
                int length = int.Parse(lengthLine["Content-Length:".Length..].Trim(), System.Globalization.CultureInfo.InvariantCulture);
                if (all.Length >= split + 4 + length)
                    break;
            }
        }

        return Encoding.UTF8.GetString(all.ToArray());
    }
}
