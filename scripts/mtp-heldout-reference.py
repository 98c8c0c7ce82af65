#!/usr/bin/env python3
"""Held-out MTP references: the teacher-forced MTP logits of a GLM-5.x MTP layer, computed in float32 with numpy
from the definition in ../shared/fixtures/glm/glm52-tiny-mtp/README.md (docs/speculative.md, "Held-out MTP
fixtures"), independently of the converter and the runtime.

  mtp-heldout-reference.py check FIXTURE_DIR
      recompute FIXTURE_DIR's own mtp_logits / mtp_topk_indices (glm52-tiny-mtp) and print the differences
  mtp-heldout-reference.py make FIXTURE_DIR SYNTH_DIR OUT_DIR
      OUT_DIR/mtp-layer.safetensors: the MTP layer (model.layers.{L}.*) of SYNTH_DIR, bytes as stored;
      OUT_DIR/reference.safetensors: per prompt P of FIXTURE_DIR's reference, P.input_ids, P.mtp_logits [S-1, V]
      and P.mtp_topk_indices [S-1, index_topk] for FIXTURE_DIR's main model plus that layer. The MTP layer's hidden
      input h_i is FIXTURE_DIR's P.hidden.{L} (transformers' last hidden state, after model.norm), or where the
      fixture stores no hidden states the least-squares solution of h @ lm_head^T = P.prefill_logits; either is
      checked against P.prefill_logits.

Run with /usr/bin/python3 (numpy).
"""
import json, os, struct, sys
import numpy as np

def read_safetensors(path):
    """{name: (dtype, array)}; BF16 as float32, F8_E4M3 as raw uint8."""
    with open(path,'rb') as f:
        n=struct.unpack('<Q',f.read(8))[0]; hdr=json.loads(f.read(n)); data=f.read()
    out={}
    for k,v in hdr.items():
        if k=='__metadata__': continue
        a,b=v['data_offsets']; raw=data[a:b]; dt=v['dtype']; shape=v['shape']
        if dt=='BF16': arr=(np.frombuffer(raw,np.uint16).astype(np.uint32)<<16).view(np.float32)
        elif dt=='F32': arr=np.frombuffer(raw,np.float32)
        elif dt=='I64': arr=np.frombuffer(raw,np.int64)
        elif dt=='I32': arr=np.frombuffer(raw,np.int32)
        elif dt=='F8_E4M3': arr=np.frombuffer(raw,np.uint8)
        else: raise ValueError(dt)
        out[k]=(dt,arr.reshape(shape))
    return out



E4M3 = None
def e4m3_table():
    t = np.zeros(256, np.float32)
    for b in range(256):
        s = -1.0 if b & 0x80 else 1.0; e = (b >> 3) & 0xF; m = b & 7
        if e == 15 and m == 7: t[b] = np.nan
        elif e == 0: t[b] = s * (m / 8.0) * 2.0 ** -6
        else: t[b] = s * (1 + m / 8.0) * 2.0 ** (e - 7)
    return t

def weights(tensors, block):
    global E4M3
    out = {}
    for k, (dt, a) in tensors.items():
        if k.endswith('weight_scale_inv'): continue
        if dt == 'F8_E4M3':
            if E4M3 is None: E4M3 = e4m3_table()
            w = E4M3[a].astype(np.float32)
            s = tensors[k + '_scale_inv'][1]
            rows = np.repeat(np.repeat(s, block[0], 0), block[1], 1)[:w.shape[0], :w.shape[1]]
            out[k] = w * rows
        else:
            out[k] = a.astype(np.float32)
    return out

def rms(x, w, eps): return x / np.sqrt(np.mean(x * x, -1, keepdims=True) + eps) * w
def layernorm(x, w, b, eps):
    m = x.mean(-1, keepdims=True); v = ((x - m) ** 2).mean(-1, keepdims=True)
    return (x - m) / np.sqrt(v + eps) * w + b

def rope(x, pos, theta, interleave):
    # x [..., S, d] with S matching pos
    d = x.shape[-1]
    inv = 1.0 / theta ** (np.arange(0, d, 2, dtype=np.float64) / d)
    ang = pos[:, None].astype(np.float64) * inv[None, :]
    cos = np.cos(ang).astype(np.float32); sin = np.sin(ang).astype(np.float32)
    if interleave:
        a, b = x[..., 0::2], x[..., 1::2]
    else:
        a, b = x[..., :d // 2], x[..., d // 2:]
    return np.concatenate([a * cos - b * sin, b * cos + a * sin], -1)

def mtp(cfg, W, L, ids, h):
    """Teacher-forced MTP rows 0..S-2: row i from token ids[i+1] and h[i] at position i."""
    H = cfg['hidden_size']; eps = cfg['rms_norm_eps']; p = f'model.layers.{L}.'
    E = W['model.embed_tokens.weight']
    head = E if cfg.get('tie_word_embeddings') else W['lm_head.weight']
    n = len(ids) - 1
    emb = E[ids[1:]]
    u = np.concatenate([rms(emb, W[p + 'enorm.weight'], eps), rms(h[:n], W[p + 'hnorm.weight'], eps)], -1) @ W[p + 'eh_proj.weight'].T
    pos = np.arange(n)
    theta = (cfg.get('rope_parameters') or {}).get('rope_theta', cfg.get('rope_theta', 10000.0))
    nh = cfg['num_attention_heads']; dn = cfg['qk_nope_head_dim']; dr = cfg['qk_rope_head_dim']; dv = cfg['v_head_dim']; rkv = cfg['kv_lora_rank']
    a = p + 'self_attn.'
    x = rms(u, W[p + 'input_layernorm.weight'], eps)
    if cfg.get('q_lora_rank'):
        qr = rms(x @ W[a + 'q_a_proj.weight'].T, W[a + 'q_a_layernorm.weight'], 1e-6)
        q = qr @ W[a + 'q_b_proj.weight'].T
    else:
        raise NotImplementedError('q_lora_rank null')
    q = q.reshape(n, nh, dn + dr).transpose(1, 0, 2)
    inter = cfg.get('rope_interleave', True)
    qn, qrot = q[..., :dn], rope(q[..., dn:], pos, theta, inter)
    ckv = x @ W[a + 'kv_a_proj_with_mqa.weight'].T
    c = rms(ckv[:, :rkv], W[a + 'kv_a_layernorm.weight'], 1e-6)
    krot = rope(ckv[:, rkv:], pos, theta, inter)
    kv = (c @ W[a + 'kv_b_proj.weight'].T).reshape(n, nh, dn + dv).transpose(1, 0, 2)
    kn, v = kv[..., :dn], kv[..., dn:]
    scores = (np.einsum('hid,hjd->hij', qn, kn) + np.einsum('hid,jd->hij', qrot, krot)) * (dn + dr) ** -0.5
    # indexer
    ix = a + 'indexer.'
    ih = cfg['index_n_heads']; idim = cfg['index_head_dim']; topk = cfg['index_topk']
    iq = (qr @ W[ix + 'wq_b.weight'].T).reshape(n, ih, idim).transpose(1, 0, 2)
    iinter = cfg.get('indexer_rope_interleave', True)
    iq = np.concatenate([rope(iq[..., :dr], pos, theta, iinter), iq[..., dr:]], -1)
    ik = layernorm(x @ W[ix + 'wk.weight'].T, W[ix + 'k_norm.weight'], W[ix + 'k_norm.bias'], 1e-6)
    ik = np.concatenate([rope(ik[:, :dr], pos, theta, iinter), ik[:, dr:]], -1)
    logits = np.maximum(np.einsum('hid,jd->hij', iq, ik) * idim ** -0.5, 0)
    w = (x @ W[ix + 'weights_proj.weight'].T) * ih ** -0.5  # [n, ih]
    I = np.einsum('ih,hij->ij', w, logits)
    causal = np.tril(np.ones((n, n), bool))
    I = np.where(causal, I, -np.inf)
    sel = np.zeros((n, n), bool); topk_idx = -np.ones((n, topk), np.int64)
    for i in range(n):
        kk = min(topk, i + 1)
        order = np.argsort(-I[i, :i + 1], kind='stable')[:kk]
        sel[i, order] = True; topk_idx[i, :kk] = order
    mask = causal & sel
    scores = np.where(mask[None], scores, -np.inf)
    scores = scores - scores.max(-1, keepdims=True)
    P = np.exp(scores); P /= P.sum(-1, keepdims=True)
    o = np.einsum('hij,hjd->hid', P, v).transpose(1, 0, 2).reshape(n, nh * dv)
    h1 = u + o @ W[a + 'o_proj.weight'].T
    x2 = rms(h1, W[p + 'post_attention_layernorm.weight'], eps)
    m = p + 'mlp.'
    def swiglu(x, g, up, d): 
        gg = x @ g.T; return ((gg / (1 + np.exp(-gg))) * (x @ up.T)) @ d.T
    s = 1 / (1 + np.exp(-(x2 @ W[m + 'gate.weight'].T)))
    sb = s + W[m + 'gate.e_score_correction_bias']
    ne = cfg['n_routed_experts']; k = cfg['num_experts_per_tok']; ng = cfg.get('n_group') or 1; tg = cfg.get('topk_group') or 1
    y = np.zeros_like(x2)
    for t in range(n):
        g = sb[t].reshape(ng, ne // ng)
        gscore = np.sort(g, -1)[:, -2:].sum(-1)
        keep = np.argsort(-gscore, kind='stable')[:tg]
        masked = np.full(ne, -np.inf, np.float32)
        for gi in keep: masked[gi * (ne // ng):(gi + 1) * (ne // ng)] = sb[t, gi * (ne // ng):(gi + 1) * (ne // ng)]
        idx = np.argsort(-masked, kind='stable')[:k]
        wt = s[t, idx]
        if cfg.get('norm_topk_prob', True): wt = wt / (wt.sum() + 1e-20)
        wt = wt * cfg['routed_scaling_factor']
        for e, we in zip(idx, wt):
            y[t] += we * swiglu(x2[t:t + 1], W[f'{m}experts.{e}.gate_proj.weight'], W[f'{m}experts.{e}.up_proj.weight'], W[f'{m}experts.{e}.down_proj.weight'])[0]
    if cfg.get('n_shared_experts'):
        y += swiglu(x2, W[m + 'shared_experts.gate_proj.weight'], W[m + 'shared_experts.up_proj.weight'], W[m + 'shared_experts.down_proj.weight'])
    out = h1 + y
    return (rms(out, W[p + 'shared_head.norm.weight'], eps) @ head.T).astype(np.float32), topk_idx


def write_safetensors(path, tensors):
    """tensors: {name: (dtype, shape, raw bytes)}, written in name order."""
    header, offset, blobs = {}, 0, []
    for name in sorted(tensors):
        dt, shape, raw = tensors[name]
        header[name] = {'dtype': dt, 'shape': list(shape), 'data_offsets': [offset, offset + len(raw)]}
        offset += len(raw)
        blobs.append(raw)
    text = json.dumps(header, separators=(',', ':')).encode()
    text += b' ' * (-len(text) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(text)) + text + b''.join(blobs))


def raw_tensors(path, prefix):
    """The stored bytes of every tensor whose name starts with prefix: {name: (dtype, shape, bytes)}."""
    with open(path, 'rb') as f:
        n = struct.unpack('<Q', f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    return {k: (v['dtype'], v['shape'], data[v['data_offsets'][0]:v['data_offsets'][1]])
            for k, v in header.items() if k != '__metadata__' and k.startswith(prefix)}


def load(fixture, extra=None):
    cfg = json.load(open(os.path.join(fixture, 'config.json')))
    tensors = read_safetensors(os.path.join(fixture, 'model.safetensors'))
    if extra:
        tensors.update(read_safetensors(extra))
    block = tuple((cfg.get('quantization_config') or {}).get('weight_block_size') or (128, 128))
    return cfg, weights(tensors, block)


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
