enum CairnEngineModule {}
