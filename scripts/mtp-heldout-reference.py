#!/usr/bin/env python3
"""Held-out MTP references: the teacher-forced MTP logits of a GLM-5.x MTP layer, computed in float32 with numpy
from the definition in docs/architecture.md ("MTP layer" and the sections on MLA, DSA and MoE it builds on), sharing
no code with the converter or the runtime.

  mtp-heldout-reference.py check FIXTURE_DIR
      recompute FIXTURE_DIR's own mtp_logits / mtp_topk_indices (glm52-tiny-mtp) and print the differences
  mtp-heldout-reference.py make FIXTURE_DIR SYNTH_DIR OUT_DIR
      OUT_DIR/mtp-layer.safetensors: the MTP layer (model.layers.{L}.*) of SYNTH_DIR, bytes as stored;
      OUT_DIR/reference.safetensors: per prompt P of FIXTURE_DIR's reference, P.input_ids, P.mtp_logits [S-1, V]
      and P.mtp_topk_indices [S-1, index_topk] for FIXTURE_DIR's main model plus that layer. The MTP layer's hidden
      input h_i is FIXTURE_DIR's P.hidden.{L} (transformers' last hidden state, after model.norm), or where the
      fixture stores no hidden states the least-squares solution of h @ lm_head^T = P.prefill_logits; either is
      checked against P.prefill_logits.

Run with /usr/bin/python3 (numpy). tests/fixtures/mtp-heldout/README.md says how its files were made.
"""
import json
import os
import struct
import sys

import numpy as np


# ---- safetensors ----

def read_safetensors(path):
    """{name: (dtype, array)}: BF16 widened to float32 exactly, F8_E4M3 as its raw bytes (uint8)."""
    with open(path, 'rb') as f:
        n = struct.unpack('<Q', f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    kinds = {'F32': np.float32, 'I64': np.int64, 'I32': np.int32, 'F8_E4M3': np.uint8}
    out = {}
    for name, info in header.items():
        if name == '__metadata__':
            continue
        start, end = info['data_offsets']
        dtype = info['dtype']
        if dtype == 'BF16':
            array = (np.frombuffer(data[start:end], np.uint16).astype(np.uint32) << 16).view(np.float32)
        elif dtype in kinds:
            array = np.frombuffer(data[start:end], kinds[dtype])
        else:
            raise ValueError(f'{path}: tensor {name} has dtype {dtype}, not one this script reads')
        out[name] = (dtype, array.reshape(info['shape']))
    return out


def raw_tensors(path, prefix):
    """The stored bytes of every tensor whose name starts with prefix: {name: (dtype, shape, bytes)}."""
    with open(path, 'rb') as f:
        n = struct.unpack('<Q', f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    return {k: (v['dtype'], v['shape'], data[v['data_offsets'][0]:v['data_offsets'][1]])
            for k, v in header.items() if k != '__metadata__' and k.startswith(prefix)}


def write_safetensors(path, tensors):
    """tensors: {name: (dtype, shape, raw bytes)}, written in name order."""
    header, offset, blobs = {}, 0, []
    for name in sorted(tensors):
        dtype, shape, raw = tensors[name]
        header[name] = {'dtype': dtype, 'shape': list(shape), 'data_offsets': [offset, offset + len(raw)]}
        offset += len(raw)
        blobs.append(raw)
    text = json.dumps(header, separators=(',', ':')).encode()
    text += b' ' * (-len(text) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(text)) + text + b''.join(blobs))


# ---- weights ----

def e4m3_values():
    """float8_e4m3fn: 1 sign, 4 exponent (bias 7), 3 mantissa bits; S.1111.111 is NaN, no infinities."""
    values = np.zeros(256, np.float32)
    for b in range(256):
        sign = -1.0 if b & 0x80 else 1.0
        exponent, mantissa = (b >> 3) & 0xF, b & 7
        if exponent == 15 and mantissa == 7:
            values[b] = np.nan
        elif exponent == 0:
            values[b] = sign * (mantissa / 8.0) * 2.0 ** -6
        else:
            values[b] = sign * (1 + mantissa / 8.0) * 2.0 ** (exponent - 7)
    return values


def float32_weights(tensors, block):
    """Every weight as float32; block-FP8 ones dequantised as e4m3 * weight_scale_inv per block."""
    e4m3 = e4m3_values()
    out = {}
    for name, (dtype, array) in tensors.items():
        if name.endswith('weight_scale_inv'):
            continue
        if dtype == 'F8_E4M3':
            scales = tensors[name + '_scale_inv'][1]
            per_element = np.repeat(np.repeat(scales, block[0], 0), block[1], 1)[:array.shape[0], :array.shape[1]]
            out[name] = e4m3[array] * per_element
        else:
            out[name] = array.astype(np.float32)
    return out


# ---- the MTP layer ----

def rms_norm(x, weight, eps):
    return x / np.sqrt(np.mean(x * x, -1, keepdims=True) + eps) * weight


def layer_norm(x, weight, bias, eps):
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * weight + bias


def rope(x, positions, theta, interleave):
    """Rotates the last axis of x [..., S, d] at positions [S]; pairs (2i, 2i+1) when interleaved, else halves."""
    d = x.shape[-1]
    inv_freq = 1.0 / theta ** (np.arange(0, d, 2, dtype=np.float64) / d)
    angle = positions[:, None].astype(np.float64) * inv_freq[None, :]
    cos, sin = np.cos(angle).astype(np.float32), np.sin(angle).astype(np.float32)
    a, b = (x[..., 0::2], x[..., 1::2]) if interleave else (x[..., :d // 2], x[..., d // 2:])
    # Output layout (de-interleaved) is irrelevant: q and k get the same one, dot products are unchanged.
    return np.concatenate([a * cos - b * sin, b * cos + a * sin], -1)


def swiglu(x, gate, up, down):
    g = x @ gate.T
    return ((g / (1 + np.exp(-g))) * (x @ up.T)) @ down.T


def attention(cfg, W, a, x, positions):
    """MLA over rows 0..n-1 (causal) restricted to the layer's own DSA selection; returns (output, selection)."""
    n = len(x)
    heads, nope, rot, v_dim = cfg['num_attention_heads'], cfg['qk_nope_head_dim'], cfg['qk_rope_head_dim'], cfg['v_head_dim']
    theta = (cfg.get('rope_parameters') or {}).get('rope_theta', cfg.get('rope_theta', 10000.0))
    interleave = cfg.get('rope_interleave', True)
    if not cfg.get('q_lora_rank'):
        raise NotImplementedError('q_lora_rank null (no q_a_proj) is not a GLM-5.x layout')
    q_resid = rms_norm(x @ W[a + 'q_a_proj.weight'].T, W[a + 'q_a_layernorm.weight'], 1e-6)
    q = (q_resid @ W[a + 'q_b_proj.weight'].T).reshape(n, heads, nope + rot).transpose(1, 0, 2)
    q_nope, q_rot = q[..., :nope], rope(q[..., nope:], positions, theta, interleave)
    ckv = x @ W[a + 'kv_a_proj_with_mqa.weight'].T
    latent = rms_norm(ckv[:, :cfg['kv_lora_rank']], W[a + 'kv_a_layernorm.weight'], 1e-6)
    k_rot = rope(ckv[:, cfg['kv_lora_rank']:], positions, theta, interleave)
    kv = (latent @ W[a + 'kv_b_proj.weight'].T).reshape(n, heads, nope + v_dim).transpose(1, 0, 2)
    k_nope, v = kv[..., :nope], kv[..., nope:]
    scores = (np.einsum('hid,hjd->hij', q_nope, k_nope) + np.einsum('hid,jd->hij', q_rot, k_rot)) * (nope + rot) ** -0.5

    # The lightning indexer: ReLU per head, weighted sum over heads, top min(index_topk, i+1) causal keys.
    ix = a + 'indexer.'
    index_heads, index_dim, topk = cfg['index_n_heads'], cfg['index_head_dim'], cfg['index_topk']
    index_interleave = cfg.get('indexer_rope_interleave', True)
    iq = (q_resid @ W[ix + 'wq_b.weight'].T).reshape(n, index_heads, index_dim).transpose(1, 0, 2)
    iq = np.concatenate([rope(iq[..., :rot], positions, theta, index_interleave), iq[..., rot:]], -1)
    ik = layer_norm(x @ W[ix + 'wk.weight'].T, W[ix + 'k_norm.weight'], W[ix + 'k_norm.bias'], 1e-6)
    ik = np.concatenate([rope(ik[:, :rot], positions, theta, index_interleave), ik[:, rot:]], -1)
    per_head = np.maximum(np.einsum('hid,jd->hij', iq, ik) * index_dim ** -0.5, 0)
    weights = (x @ W[ix + 'weights_proj.weight'].T) * index_heads ** -0.5
    index_scores = np.einsum('ih,hij->ij', weights, per_head)
    causal = np.tril(np.ones((n, n), bool))
    selected = np.zeros((n, n), bool)
    selection = -np.ones((n, topk), np.int64)
    for i in range(n):
        keep = min(topk, i + 1)
        order = np.argsort(-index_scores[i, :i + 1], kind='stable')[:keep]
        selected[i, order] = True
        selection[i, :keep] = order

    scores = np.where((causal & selected)[None], scores, -np.inf)
    probs = np.exp(scores - scores.max(-1, keepdims=True))
    probs /= probs.sum(-1, keepdims=True)
    out = np.einsum('hij,hjd->hid', probs, v).transpose(1, 0, 2).reshape(n, heads * v_dim)
    return out @ W[a + 'o_proj.weight'].T, selection


def moe(cfg, W, m, x):
    """Sigmoid routing with the correction bias for selection only, group-limited, normalised, scaled; plus shared."""
    experts, top, groups = cfg['n_routed_experts'], cfg['num_experts_per_tok'], cfg.get('n_group') or 1
    per_group = experts // groups
    scores = 1 / (1 + np.exp(-(x @ W[m + 'gate.weight'].T)))
    biased = scores + W[m + 'gate.e_score_correction_bias']
    y = np.zeros_like(x)
    for t in range(len(x)):
        group_scores = np.sort(biased[t].reshape(groups, per_group), -1)[:, -2:].sum(-1)
        kept = np.argsort(-group_scores, kind='stable')[:cfg.get('topk_group') or 1]
        candidates = np.full(experts, -np.inf, np.float32)
        for g in kept:
            candidates[g * per_group:(g + 1) * per_group] = biased[t, g * per_group:(g + 1) * per_group]
        chosen = np.argsort(-candidates, kind='stable')[:top]
        w = scores[t, chosen]
        if cfg.get('norm_topk_prob', True):
            w = w / (w.sum() + 1e-20)
        w = w * cfg['routed_scaling_factor']
        for e, we in zip(chosen, w):
            p = f'{m}experts.{e}.'
            y[t] += we * swiglu(x[t:t + 1], W[p + 'gate_proj.weight'], W[p + 'up_proj.weight'], W[p + 'down_proj.weight'])[0]
    if cfg.get('n_shared_experts'):
        p = m + 'shared_experts.'
        y += swiglu(x, W[p + 'gate_proj.weight'], W[p + 'up_proj.weight'], W[p + 'down_proj.weight'])
    return y


def mtp(cfg, W, L, ids, h):
    """Teacher-forced MTP rows 0..S-2: row i from token ids[i+1] and h[i] at position i; (logits, selections)."""
    eps, p = cfg['rms_norm_eps'], f'model.layers.{L}.'
    embed = W['model.embed_tokens.weight']
    head = embed if cfg.get('tie_word_embeddings') else W['lm_head.weight']
    n = len(ids) - 1
    u = np.concatenate([rms_norm(embed[ids[1:]], W[p + 'enorm.weight'], eps),
                        rms_norm(h[:n], W[p + 'hnorm.weight'], eps)], -1) @ W[p + 'eh_proj.weight'].T
    attended, selection = attention(cfg, W, p + 'self_attn.', rms_norm(u, W[p + 'input_layernorm.weight'], eps), np.arange(n))
    x = u + attended
    x = x + moe(cfg, W, p + 'mlp.', rms_norm(x, W[p + 'post_attention_layernorm.weight'], eps))
    return (rms_norm(x, W[p + 'shared_head.norm.weight'], eps) @ head.T).astype(np.float32), selection


# ---- commands ----

def load(fixture, extra=None):
    cfg = json.load(open(os.path.join(fixture, 'config.json')))
    tensors = read_safetensors(os.path.join(fixture, 'model.safetensors'))
    if extra:
        tensors.update(read_safetensors(extra))
    block = tuple((cfg.get('quantization_config') or {}).get('weight_block_size') or (128, 128))
    return cfg, float32_weights(tensors, block)


def prompts(reference):
    return sorted({k.split('.')[0] for k in reference if k.endswith('.input_ids')})


def check(fixture):
    cfg, W = load(fixture)
    R = read_safetensors(os.path.join(fixture, 'reference.safetensors'))
    worst = 0.0
    for p in prompts(R):
        ids = R[p + '.input_ids'][1][0]
        logits, topk = mtp(cfg, W, cfg['num_hidden_layers'], ids, R[p + '.main_hidden'][1])
        ref = R[p + '.mtp_logits'][1]
        err = float(np.abs(logits - ref).max())
        same_sets = sum(set(a[a >= 0]) == set(b[b >= 0]) for a, b in zip(topk, R[p + '.mtp_topk_indices'][1]))
        print(f'{p}: mtp_logits max abs err {err:.2e}, argmax {int((logits.argmax(-1) == ref.argmax(-1)).sum())}/{len(ref)}, '
              f'top-k sets {same_sets}/{len(ref)}')
        worst = max(worst, err)
    return 0 if worst <= 1e-5 else 1


def make(fixture, synth, out):
    cfg = json.load(open(os.path.join(fixture, 'config.json')))
    L = cfg['num_hidden_layers']
    os.makedirs(out, exist_ok=True)
    layer = raw_tensors(os.path.join(synth, 'model.safetensors'), f'model.layers.{L}.')
    if not any(k.endswith('eh_proj.weight') for k in layer):
        sys.exit(f'{synth}/model.safetensors holds no MTP layer model.layers.{L}.*')
    write_safetensors(os.path.join(out, 'mtp-layer.safetensors'), layer)
    cfg, W = load(fixture, os.path.join(out, 'mtp-layer.safetensors'))
    head = W['model.embed_tokens.weight'] if cfg.get('tie_word_embeddings') else W['lm_head.weight']
    R = read_safetensors(os.path.join(fixture, 'reference.safetensors'))
    result = {}
    for p in prompts(R):
        ids = R[p + '.input_ids'][1][0]
        prefill = R[p + '.prefill_logits'][1].reshape(len(ids), -1).astype(np.float64)
        if p + f'.hidden.{L}' in R:
            source = f'{p}.hidden.{L}'
            h = R[source][1].reshape(len(ids), -1)
        else:
            # No hidden states stored (the FP8 fixture): h is the lm_head input, so it solves h @ head^T = logits,
            # V equations for H unknowns per row (least squares; exact when the head has full column rank).
            source = f'least squares on {p}.prefill_logits'
            h = np.linalg.lstsq(head.astype(np.float64), prefill.T, rcond=None)[0].T.astype(np.float32)
        head_err = float(np.abs(h.astype(np.float64) @ head.T.astype(np.float64) - prefill).max())
        if head_err > 1e-4:
            sys.exit(f'{fixture}: h from {source} is not the lm_head input (logits differ by {head_err})')
        logits, topk = mtp(cfg, W, L, ids, h)
        print(f'{p}: S={len(ids)}, h from {source}; h x lm_head vs prefill_logits {head_err:.1e}')
        result[p + '.input_ids'] = ('I64', [1, len(ids)], ids.astype('<i8').tobytes())
        result[p + '.mtp_logits'] = ('F32', list(logits.shape), logits.astype('<f4').tobytes())
        result[p + '.mtp_topk_indices'] = ('I64', list(topk.shape), topk.astype('<i8').tobytes())
    write_safetensors(os.path.join(out, 'reference.safetensors'), result)
    return 0


if __name__ == '__main__':
    if len(sys.argv) == 3 and sys.argv[1] == 'check':
        sys.exit(check(sys.argv[2]))
    if len(sys.argv) == 5 and sys.argv[1] == 'make':
        sys.exit(make(*sys.argv[2:]))
    sys.exit(__doc__)
