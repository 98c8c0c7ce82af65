namespace Glm.Onnx.Contracts;

/// <summary>Input and output names of stage graphs (docs/onnx-contract.md, "Stage graphs").</summary>
public static class GraphNames
{
    public const string InputIds = "input_ids";
    public const string HiddenStates = "hidden_states";
    public const string Positions = "positions";
    public const string CumulativeSequenceLengths = "cumulative_sequence_lengths";
    public const string PastSequenceLengths = "past_sequence_lengths";
    public const string BlockTable = "block_table";
    public const string LogitsIndices = "logits_indices";
    public const string PrevTopkIndices = "prev_topk_indices";

    public const string Logits = "logits";
    public const string HiddenStatesOut = "hidden_states_out";
    public const string TopkIndicesOut = "topk_indices_out";
    public const string FinalHidden = "final_hidden";

    public static string LatentPool(int layer) => $"latent_pool.{layer}";
    public static string IndexPool(int layer) => $"index_pool.{layer}";
}
