'use strict';

const { describe, it, test } = require('node:test');
const assert = require('node:assert/strict');
const { total, lineFor, charge } = require('./cart');

// A small seeded generator, so that every run has its own values.
let seed = Number(process.env.CORPUS_SEED || 1);
function rand(n) {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return seed % n;
}

const items = [
  { sku: `sku-${1000 + rand(9000)}`, price: 100 + rand(5000), quantity: 1 + rand(5) },
  { sku: `sku-${1000 + rand(9000)}`, price: 100 + rand(5000), quantity: 1 + rand(5) },
];
const sum = items.reduce((s, it) => s + it.price * it.quantity, 0);

describe('cart', () => {
  describe('totals', () => {
    it('has no discount', () => {
      assert.equal(total(items, 0), sum);
    });
    it('applies ten percent', () => {
      assert.equal(total(items, 10), sum - Math.floor((sum * 10) / 100));
    });
    it('applies a big discount', () => {
      const pct = 60 + rand(30);
      assert.equal(total(items, pct), sum - Math.floor((sum * pct) / 100));
    });
  });

  describe('lines', () => {
    it('finds a line', () => {
      assert.equal(lineFor(items, items[0].sku), items[0].quantity);
    });
    it('finds a missing line', () => {
      lineFor(items, `sku-missing-${rand(100)}`);
    });
    it('wraps gifts', { skip: 'gift wrapping is not offered yet' }, () => {});
    it('splits shipments', { todo: 'later' }, () => {});
  });
});

test('inventory is in stock', () => {
  if (process.env.CORPUS_FLAKY === '1') {
    const stock = 1 + rand(20);
    assert.deepEqual({ sku: items[1].sku, stock: stock - 1 }, { sku: items[1].sku, stock });
  }
});

test('checkout', async (t) => {
  // With CORPUS_PORT, the gateway's port is wrong: nothing listens there.
  const port = 40000 + rand(20000);
  await t.test('pays by card', async () => {
    if (process.env.CORPUS_PORT === '1') await charge(port);
  });
  await t.test('sends the receipt', async () => {
    if (process.env.CORPUS_TIMEOUT === '1') {
      await new Promise((_, reject) => setTimeout(() => reject(new Error(`mail server did not answer within ${50 + rand(50)}ms`)), 10));
    }
    if (process.env.CORPUS_PORT === '1') await charge(port + 1);
  });
});
